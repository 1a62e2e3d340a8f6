package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// examplePath is the committed output, relative to this package.
var examplePath = filepath.Join("..", "..", "examples", "incident")

// maxExampleBytes bounds the example's size in the repository.
const maxExampleBytes = 6 << 20

func generateTemp(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := generate(dir); err != nil {
		t.Fatalf("generate: %v", err)
	}
	return dir
}

// readTree returns the files under root by slash-separated relative path.
func readTree(t *testing.T, root string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(path)
		files[filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil {
		t.Fatalf("read %s: %v", root, err)
	}
	return files
}

func compareTrees(t *testing.T, got, want map[string][]byte) {
	t.Helper()
	for name, data := range want {
		g, ok := got[name]
		switch {
		case !ok:
			t.Errorf("%s is missing", name)
		case !bytes.Equal(g, data):
			t.Errorf("%s differs (%d bytes, want %d)", name, len(g), len(data))
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s is extra", name)
		}
	}
}

func TestGenerateMatchesCommittedExample(t *testing.T) {
	committed := readTree(t, examplePath)
	delete(committed, "README.md")
	if len(committed) == 0 {
		t.Fatalf("%s holds no generated files", examplePath)
	}
	compareTrees(t, readTree(t, generateTemp(t)), committed)
	if t.Failed() {
		t.Log("regenerate it from the repository root: go run ./internal/incidentgen -out examples/incident")
	}
}

func TestGenerateIsReproducible(t *testing.T) {
	compareTrees(t, readTree(t, generateTemp(t)), readTree(t, generateTemp(t)))
}

func TestGenerateKeepsOtherFiles(t *testing.T) {
	dir := t.TempDir()
	readme := filepath.Join(dir, "README.md")
	if err := os.WriteFile(readme, []byte("notes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dir, "kube-system_old-pod_0000", "old", "0.log")
	if err := os.MkdirAll(filepath.Dir(stale), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(stale, []byte("stale\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code := run([]string{"-out", dir}, io.Discard); code != 0 {
		t.Fatalf("run exit code = %d, want 0", code)
	}
	if data, err := os.ReadFile(readme); err != nil || string(data) != "notes\n" {
		t.Errorf("README.md after run: %q, %v; want it unchanged", data, err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale pod folder still exists (stat error %v)", err)
	}
}

func TestRunRejectsArguments(t *testing.T) {
	if code := run([]string{"-out", t.TempDir(), "extra"}, io.Discard); code != 2 {
		t.Errorf("exit code = %d, want 2", code)
	}
	if code := run([]string{"-unknown"}, io.Discard); code != 2 {
		t.Errorf("exit code for an unknown flag = %d, want 2", code)
	}
}

var (
	logFileName = regexp.MustCompile(`^(\d+)\.log(?:\.(\d{8}-\d{6})(\.gz)?)?$`)
	criRecord   = regexp.MustCompile(`^(\S+) (stdout|stderr) F (.*)$`)
)

// containerFile is one file of a container folder, in the order the kubelet
// created it.
type containerFile struct {
	name    string
	restart int
	rotated time.Time // zero for the current file
	gz      bool
}

func TestExampleLayout(t *testing.T) {
	root := generateTemp(t)
	var total int64
	containers := 0
	pods, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, pod := range pods {
		if parts := strings.Split(pod.Name(), "_"); len(parts) != 3 {
			t.Errorf("pod folder %q is not <namespace>_<pod>_<uid>", pod.Name())
			continue
		}
		dirs, err := os.ReadDir(filepath.Join(root, pod.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range dirs {
			containers++
			dir := filepath.Join(root, pod.Name(), c.Name())
			t.Run(pod.Name()+"/"+c.Name(), func(t *testing.T) {
				total += checkContainerFolder(t, dir)
			})
		}
	}
	if containers < 7 {
		t.Errorf("%d container folders, want at least 7", containers)
	}
	if total >= maxExampleBytes {
		t.Errorf("example holds %d bytes, want less than %d", total, maxExampleBytes)
	}
}

// checkContainerFolder checks one container's files against the kubelet's
// naming and rotation rules and their records against the CRI format, and
// returns the folder's size.
func checkContainerFolder(t *testing.T, dir string) int64 {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var files []containerFile
	var size int64
	for _, e := range entries {
		m := logFileName.FindStringSubmatch(e.Name())
		if m == nil {
			t.Errorf("file %q is not named like a kubelet container log", e.Name())
			continue
		}
		f := containerFile{name: e.Name(), gz: m[3] != ""}
		f.restart, _ = strconv.Atoi(m[1])
		if m[2] != "" {
			if f.rotated, err = time.Parse("20060102-150405", m[2]); err != nil {
				t.Errorf("file %q: %v", e.Name(), err)
			}
		}
		files = append(files, f)
		if info, err := e.Info(); err == nil {
			size += info.Size()
		}
	}
	slices.SortFunc(files, compareContainerFiles)
	checkRotations(t, files)
	var last time.Time
	for i, f := range files {
		var first time.Time
		first, last = checkRecords(t, filepath.Join(dir, f.name), f.gz, last)
		// The rotation policy keeps every file, so each log still starts
		// on the example's first day.
		if i == 0 && first.After(exampleStart.Add(24*time.Hour)) {
			t.Errorf("%s starts at %s, want the example's first day: a rotation was deleted", f.name, first)
		}
		if !f.rotated.IsZero() && last.After(f.rotated) {
			t.Errorf("%s holds a record at %s, after its rotation", f.name, last)
		}
	}
	return size
}

// compareContainerFiles orders files by restart count, and within one
// restart the rotations by time before the current file.
func compareContainerFiles(a, b containerFile) int {
	switch {
	case a.restart != b.restart:
		return a.restart - b.restart
	case a.rotated.IsZero() && !b.rotated.IsZero():
		return 1
	case !a.rotated.IsZero() && b.rotated.IsZero():
		return -1
	}
	return a.rotated.Compare(b.rotated)
}

// checkRotations checks that each restart has a current file, at most
// maxFiles files, and that only its newest rotation is uncompressed.
func checkRotations(t *testing.T, files []containerFile) {
	t.Helper()
	byRestart := map[int][]containerFile{}
	for _, f := range files {
		byRestart[f.restart] = append(byRestart[f.restart], f)
	}
	for restart, fs := range byRestart {
		if len(fs) > kubeletRotation.maxFiles {
			t.Errorf("%d.log has %d files, more than the maximum of %d", restart, len(fs), kubeletRotation.maxFiles)
		}
		current := fs[len(fs)-1]
		if !current.rotated.IsZero() {
			t.Errorf("%d.log has rotations but no current file", restart)
		}
		rotated := fs[:len(fs)-1]
		for i, f := range rotated {
			if newest := i == len(rotated)-1; f.gz == newest {
				t.Errorf("%s: compressed = %v, want only rotations older than the newest compressed", f.name, f.gz)
			}
		}
	}
}

// checkRecords checks that every line of a file is a CRI record whose time
// is not older than the one before, and returns the first and last times.
func checkRecords(t *testing.T, path string, gz bool, prev time.Time) (first, last time.Time) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if gz {
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		r = zr
	}

	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	last = prev
	for n := 1; sc.Scan(); n++ {
		m := criRecord.FindStringSubmatch(sc.Text())
		if m == nil {
			t.Errorf("%s:%d: not a CRI record: %q", filepath.Base(path), n, sc.Text())
			continue
		}
		ts, err := time.Parse(time.RFC3339Nano, m[1])
		if err != nil {
			t.Errorf("%s:%d: %v", filepath.Base(path), n, err)
			continue
		}
		if ts.Before(last) {
			t.Errorf("%s:%d: time %s is before the previous record's %s", filepath.Base(path), n, ts, last)
		}
		if first.IsZero() {
			first = ts
		}
		last = ts
	}

	if err := sc.Err(); err != nil {
		t.Errorf("read %s: %v", path, err)
	}
	return first, last
}

func TestExampleKeepsWholeRenewal(t *testing.T) {
	// The first day of failed renewals must survive rotation, or the
	// example could not show that an alert was possible four weeks early.
	root := generateTemp(t)
	matches, err := filepath.Glob(filepath.Join(root, "cert-manager_*", "cert-manager-controller", "0.log.*.gz"))
	if err != nil || len(matches) == 0 {
		t.Fatalf("no rotated cert-manager log (%v)", err)
	}
	slices.Sort(matches)
	first, _ := checkRecords(t, matches[0], true, time.Time{})
	if first.After(renewalStart) {
		t.Errorf("oldest cert-manager record at %s, after the renewal started at %s", first, renewalStart)
	}
}

func TestContainerLogRotation(t *testing.T) {
	policy := rotation{maxSize: 200, maxFiles: 4, interval: 10 * time.Second}
	log := newContainerLog(0, policy)
	start := time.Date(2026, 10, 3, 2, 0, 0, 0, time.UTC)
	line := strings.Repeat("x", 60) // 91 bytes as a CRI record
	for i := range 15 {
		if err := log.write(record{time: start.Add(time.Duration(i) * 7 * time.Second), stream: "stdout", text: line}); err != nil {
			t.Fatal(err)
		}
	}

	// Every third record passes 200 bytes, and the kubelet rotates at its
	// next check, on the next multiple of 10 s: at 02:00:20, 02:00:40,
	// 02:01:00 and 02:01:20. Before the last rotation it deletes the oldest
	// file to keep maxFiles-2 = 2 rotations.
	var names []string
	for _, f := range log.rotated {
		names = append(names, f.name)
	}
	want := []string{"0.log.20261003-020040.gz", "0.log.20261003-020100.gz", "0.log.20261003-020120"}
	if !slices.Equal(names, want) {
		t.Errorf("rotated files = %v, want %v", names, want)
	}
	if n := strings.Count(log.current.String(), "\n"); n != 3 {
		t.Errorf("current file holds %d records, want the 3 written after 02:01:20", n)
	}

	for _, f := range log.rotated {
		if f.compressed != strings.HasSuffix(f.name, ".gz") {
			t.Errorf("%s: compressed = %v", f.name, f.compressed)
		}
	}
	if err := log.write(record{time: start, stream: "stdout", text: "late"}); err == nil {
		t.Error("write of an older record succeeded, want an error")
	}
}
