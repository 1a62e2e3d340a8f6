package deploy

import (
	"debug/buildinfo"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
)

// instruction is one Dockerfile instruction with its continuation lines
// joined.
type instruction struct {
	keyword string // upper case, such as RUN
	args    string
}

// parseDockerfile returns the instructions of the Dockerfile at path,
// grouped by stage, without comments and the syntax directive.
func parseDockerfile(t *testing.T, path string) [][]instruction {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var stages [][]instruction
	var line strings.Builder
	for _, raw := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(raw)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && line.Len() == 0) {
			continue
		}
		if cont, ok := strings.CutSuffix(trimmed, "\\"); ok {
			line.WriteString(cont + " ")
			continue
		}
		line.WriteString(trimmed)
		keyword, args, _ := strings.Cut(line.String(), " ")
		line.Reset()
		in := instruction{strings.ToUpper(keyword), strings.TrimSpace(args)}
		if in.keyword == "FROM" || len(stages) == 0 {
			stages = append(stages, nil)
		}
		stages[len(stages)-1] = append(stages[len(stages)-1], in)
	}
	return stages
}

func TestDockerfileFinalStage(t *testing.T) {
	stages := parseDockerfile(t, "../Dockerfile")
	final := stages[len(stages)-1]
	if final[0].keyword != "FROM" {
		t.Fatalf("last stage starts with %s, want FROM", final[0].keyword)
	}
	image := strings.Fields(final[0].args)[0]
	if !strings.HasPrefix(image, "gcr.io/distroless/static") && image != "scratch" {
		t.Errorf("final image %s, want a distroless static image or scratch, which have no shell", image)
	}
	var labels, entrypoint string
	for _, in := range final[1:] {
		switch in.keyword {
		case "RUN":
			t.Errorf("final stage runs %q, but its image has no shell", in.args)
		case "LABEL":
			labels += in.args + " "
		case "ENTRYPOINT":
			entrypoint = in.args
		}
	}
	if entrypoint != `["/klaxon"]` {
		t.Errorf(`ENTRYPOINT %s, want the exec form ["/klaxon"]`, entrypoint)
	}
	for _, key := range []string{"title", "description", "source", "version", "revision"} {
		if !strings.Contains(labels, "org.opencontainers.image."+key+"=") {
			t.Errorf("no label org.opencontainers.image.%s", key)
		}
	}
}

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// buildKlaxon runs the Dockerfile's go build command on this machine once
// per test binary, with the version 1.2.3-test, and returns the binary.
func buildKlaxon(t *testing.T) string {
	t.Helper()
	command := dockerfileBuildCommand(t)
	buildOnce.Do(func() {
		buildPath = filepath.Join(tempDir, "klaxon")
		command = strings.NewReplacer(
			"${TARGETOS}", runtime.GOOS,
			"${TARGETARCH}", runtime.GOARCH,
			"${VERSION}", "1.2.3-test",
			"/out/klaxon", buildPath,
		).Replace(command)
		cmd := exec.Command("sh", "-c", command)
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("%s: %w\n%s", command, err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

// TestDockerfileBuildsStaticBinary checks that the Dockerfile's go build
// command makes a binary that needs no dynamic linker.
func TestDockerfileBuildsStaticBinary(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the image's binary is a Linux ELF file")
	}
	command := dockerfileBuildCommand(t)
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-X main.buildVersion=${VERSION}", "./cmd/klaxon"} {
		if !strings.Contains(command, want) {
			t.Errorf("go build command %q lacks %s", command, want)
		}
	}
	bin := buildKlaxon(t)

	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("binary has an ELF interpreter, so it is dynamically linked")
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("binary needs shared libraries %v (err %v)", libs, err)
	}

	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	for key, want := range map[string]string{"CGO_ENABLED": "0", "-trimpath": "true"} {
		if settings[key] != want {
			t.Errorf("build setting %s = %q, want %q", key, settings[key], want)
		}
	}
	// Build info cannot show the -X flag, because -trimpath leaves -ldflags
	// out of it, so the binary must print the version itself.
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatalf("klaxon version: %v", err)
	}
	if got := strings.TrimSpace(string(out)); got != "klaxon 1.2.3-test" {
		t.Errorf("klaxon version printed %q, want the version given with -X", got)
	}
}

// dockerfileBuildCommand returns the shell command of the RUN instruction
// that calls go build, without the RUN options such as --mount.
func dockerfileBuildCommand(t *testing.T) string {
	t.Helper()
	for _, stage := range parseDockerfile(t, "../Dockerfile") {
		for _, in := range stage {
			if in.keyword != "RUN" || !strings.Contains(in.args, "go build") {
				continue
			}
			fields := strings.Fields(in.args)
			i := slices.IndexFunc(fields, func(f string) bool { return !strings.HasPrefix(f, "--") })
			return strings.Join(fields[i:], " ")
		}
	}
	t.Fatal("no RUN instruction with go build in the Dockerfile")
	return ""
}
