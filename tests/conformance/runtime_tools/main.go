// rtcheck: runtime-tools' own validation and config generator, for the conformance suite.
//
// Built by tests/conformance/test_runtime_tools.py (session fixture) with Debian's golang-go
// against Debian's golang-github-opencontainers-runtime-tools-dev, in GOPATH mode:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o DIR/rtcheck main.go
//
// The binary is never committed. Usage:
//
//	rtcheck validate BUNDLE
//	    Runs every check of runtime-tools' validate.Validator.CheckAll on BUNDLE, host-specific,
//	    platform linux, except CheckJSONSchema (it fetches the schema over the network), and
//	    prints {"errors": [...], "warnings": [...], "skipped": [...]}: one object per finding
//	    with the check, the message, the RFC 2119 level ("MUST", "SHOULD", ... or "" for
//	    findings that carry no level) and the spec reference. As `oci-runtime-tool validate`
//	    does by default, findings below MUST level are warnings, the rest errors. A check
//	    that panics (runtime-tools 0.9 dereferences a nil FileInfo for a missing hook path)
//	    is reported as an error of that check. A config that cannot be loaded gives
//	    {"load_error": "..."}.
//	rtcheck generate RECIPE FILE [CGROUPS_PATH]
//	    Writes the config.json made by runtime-tools' generate package for RECIPE (see
//	    recipes below) to FILE, with linux.cgroupsPath CGROUPS_PATH if given.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	multierror "github.com/hashicorp/go-multierror"
	rspec "github.com/opencontainers/runtime-spec/specs-go"
	rfc2119 "github.com/opencontainers/runtime-tools/error"
	"github.com/opencontainers/runtime-tools/generate"
	"github.com/opencontainers/runtime-tools/specerror"
	"github.com/opencontainers/runtime-tools/validate"
	"github.com/sirupsen/logrus"
)

type finding struct {
	Check     string `json:"check"`
	Message   string `json:"message"`
	Level     string `json:"level"`
	Reference string `json:"reference"`
}

type report struct {
	Errors    []finding `json:"errors"`
	Warnings  []finding `json:"warnings"`
	Skipped   []string  `json:"skipped"`
	LoadError string    `json:"load_error,omitempty"`
}

var levelNames = map[rfc2119.Level]string{
	rfc2119.May: "MAY", rfc2119.Optional: "OPTIONAL", rfc2119.Should: "SHOULD",
	rfc2119.ShouldNot: "SHOULD NOT", rfc2119.Recommended: "RECOMMENDED",
	rfc2119.NotRecommended: "NOT RECOMMENDED", rfc2119.Must: "MUST",
	rfc2119.MustNot: "MUST NOT", rfc2119.Shall: "SHALL", rfc2119.ShallNot: "SHALL NOT",
	rfc2119.Required: "REQUIRED",
}

func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if merr, ok := err.(*multierror.Error); ok {
		var out []error
		for _, e := range merr.Errors {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

func runCheck(name string, check func() error) (errs []error) {
	defer func() {
		if r := recover(); r != nil {
			errs = append(errs, fmt.Errorf("runtime-tools panicked in %s: %v", name, r))
		}
	}()
	return flatten(check())
}

func doValidate(bundle string) report {
	rep := report{Errors: []finding{}, Warnings: []finding{},
		Skipped: []string{"CheckJSONSchema: it loads the schema of the config's version over the network"}}
	v, err := validate.NewValidatorFromPath(bundle, true, "linux")
	if err != nil {
		rep.LoadError = err.Error()
		return rep
	}
	// CheckAll's list, in its order, without CheckJSONSchema.
	checks := []struct {
		name string
		fn   func() error
	}{
		{"CheckPlatform", v.CheckPlatform},
		{"CheckRoot", v.CheckRoot},
		{"CheckMandatoryFields", v.CheckMandatoryFields},
		{"CheckSemVer", v.CheckSemVer},
		{"CheckMounts", v.CheckMounts},
		{"CheckProcess", v.CheckProcess},
		{"CheckLinux", v.CheckLinux},
		{"CheckAnnotations", v.CheckAnnotations},
		{"CheckHooks", v.CheckHooks},
	}
	for _, c := range checks {
		for _, e := range runCheck(c.name, c.fn) {
			f := finding{Check: c.name, Message: e.Error()}
			if se, ok := e.(*specerror.Error); ok {
				f.Level = levelNames[se.Err.Level]
				f.Reference = se.Err.Reference
				if se.Err.Level < rfc2119.Must {
					rep.Warnings = append(rep.Warnings, f)
					continue
				}
			}
			rep.Errors = append(rep.Errors, f)
		}
	}
	return rep
}

func u32(v uint32) *uint32 { return &v }

// Recipes: a runtime-tools default config (generate.New) plus the settings named by the
// recipe, always with root.path "rootfs" and the conformance probe as the process. Only the
// "default" recipe keeps generate's default seccomp profile, so that a runtime failing
// under that profile does not hide what the other recipes check.
var recipes = map[string]func(g *generate.Generator) error{
	"default": func(g *generate.Generator) error { return nil },
	"process": func(g *generate.Generator) error {
		g.SetProcessUID(1000)
		g.SetProcessGID(1000)
		g.AddProcessAdditionalGid(10)
		g.SetProcessUmask(0o027)
		g.SetProcessCwd("/tmp")
		g.AddProcessEnv("GENERATED_BY", "runtime-tools")
		g.AddProcessRlimits("RLIMIT_NOFILE", 512, 256)
		g.SetProcessNoNewPrivileges(true)
		g.SetProcessOOMScoreAdj(300)
		return nil
	},
	"linux": func(g *generate.Generator) error {
		g.SetHostname("generated")
		g.AddLinuxSysctl("net.ipv4.ip_forward", "1")
		g.AddLinuxMaskedPaths("/etc/conformance-masked")
		g.AddLinuxReadonlyPaths("/etc/conformance-ro")
		g.AddDevice(rspec.LinuxDevice{Path: "/dev/generated-null", Type: "c", Major: 1, Minor: 3,
			FileMode: func() *os.FileMode { m := os.FileMode(0o640); return &m }(), UID: u32(0), GID: u32(0)})
		if err := g.AddOrReplaceLinuxNamespace("cgroup", ""); err != nil {
			return err
		}
		return g.SetLinuxRootPropagation("private")
	},
	"resources": func(g *generate.Generator) error {
		g.SetLinuxResourcesMemoryLimit(64 << 20)
		g.SetLinuxResourcesMemoryReservation(32 << 20)
		g.SetLinuxResourcesCPUShares(512)
		g.SetLinuxResourcesCPUQuota(50000)
		g.SetLinuxResourcesCPUPeriod(100000)
		g.SetLinuxResourcesPidsLimit(42)
		return nil
	},
	"capabilities": func(g *generate.Generator) error {
		g.ClearProcessCapabilities()
		for _, c := range []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"} {
			if err := g.AddProcessCapability(c); err != nil {
				return err
			}
		}
		return nil
	},
}

func doGenerate(recipe, path, cgroupsPath string) error {
	fn, ok := recipes[recipe]
	if !ok {
		return fmt.Errorf("unknown recipe %q", recipe)
	}
	g, err := generate.New("linux")
	if err != nil {
		return err
	}
	g.SetRootPath("rootfs")
	g.SetProcessArgs([]string{"/probe", "all"})
	g.SetProcessTerminal(false)
	if err := fn(&g); err != nil {
		return err
	}
	if recipe != "default" {
		g.Config.Linux.Seccomp = nil
	}
	if cgroupsPath != "" {
		g.SetLinuxCgroupsPath(cgroupsPath)
	}
	return g.SaveToFile(path, generate.ExportOptions{})
}

func main() {
	logrus.SetOutput(os.Stderr)
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: rtcheck validate BUNDLE | rtcheck generate RECIPE FILE [CGROUPS_PATH]")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "validate":
		out, _ := json.Marshal(doValidate(os.Args[2]))
		fmt.Println(string(out))
	case "generate":
		if len(os.Args) < 4 {
			fmt.Fprintln(os.Stderr, "usage: rtcheck generate RECIPE FILE [CGROUPS_PATH]")
			os.Exit(2)
		}
		cgroupsPath := ""
		if len(os.Args) > 4 {
			cgroupsPath = os.Args[4]
		}
		if err := doGenerate(os.Args[2], os.Args[3], cgroupsPath); err != nil {
			fmt.Fprintln(os.Stderr, "rtcheck generate:", err)
			os.Exit(1)
		}
	case "recipes":
		for name := range recipes {
			fmt.Println(name)
		}
	default:
		fmt.Fprintln(os.Stderr, "rtcheck: unknown command", os.Args[1])
		os.Exit(2)
	}
}
