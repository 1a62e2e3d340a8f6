package scanner

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const replayRules = `
[[rule]]
name = "seq"
severity = "info"
match = 'seq=(?P<n>\d+)'
group_by = ["n"]
repeat = "0s"
`

func cri(t time.Time, stream, tag, msg string) string {
	return fmt.Sprintf("%s %s %s %s\n", t.UTC().Format(time.RFC3339Nano), stream, tag, msg)
}

func gzipText(t *testing.T, text string) string {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write([]byte(text)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func replayTexts(t *testing.T, rules string, paths []string, stdin string) ([]*Alert, ReplayStats) {
	t.Helper()
	rs, err := ParseRules("test.toml", []byte(rules))
	if err != nil {
		t.Fatal(err)
	}
	var alerts []*Alert
	stats, err := Replay(context.Background(), rs, paths, ReplayOptions{
		Node:  "laptop",
		Stdin: strings.NewReader(stdin),
		Emit:  func(a *Alert) { alerts = append(alerts, a) },
	})
	if err != nil {
		t.Fatalf("Replay: %v", err)
	}
	return alerts, stats
}

func seqOrder(alerts []*Alert) []string {
	var out []string
	for _, a := range alerts {
		out = append(out, a.Labels["n"])
	}
	return out
}

// TestReplayKubeletLayout writes one container's rotation chain as the
// kubelet leaves it: older rotations gzipped, the newest rotation plain, the
// current file, and a restart; plus another pod whose lines interleave in time.
func TestReplayKubeletLayout(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "cert-manager_cm-7d9f_0f1e2d3c", "cert-manager-controller")
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Minute) }
	writeFile(t, filepath.Join(dir, "0.log.20261003-020100.gz"), gzipText(t, cri(at(1), "stderr", "F", "seq=1")))
	writeFile(t, filepath.Join(dir, "0.log.20261003-020300.gz"), gzipText(t, cri(at(3), "stderr", "F", "seq=3")))
	writeFile(t, filepath.Join(dir, "0.log.20261003-020500"), cri(at(5), "stderr", "P", "seq=")+cri(at(5), "stderr", "F", "5"))
	// A leftover of an interrupted compression must not be read twice.
	writeFile(t, filepath.Join(dir, "0.log.20261003-020500.gz"), gzipText(t, cri(at(5), "stderr", "F", "seq=5")))
	writeFile(t, filepath.Join(dir, "0.log.20261003-020600.tmp"), cri(at(6), "stderr", "F", "seq=99"))
	writeFile(t, filepath.Join(dir, "0.log"), cri(at(7), "stderr", "F", "seq=7"))
	// Notes kept with saved logs are not logs.
	writeFile(t, filepath.Join(root, "README.md"), "seq=100 is explained here\n")
	writeFile(t, filepath.Join(root, "rules.toml"), "# seq=101\n")
	writeFile(t, filepath.Join(dir, "1.log"), cri(at(9), "stdout", "F", "seq=9"))
	other := filepath.Join(root, "kube-system_coredns-1_aa11", "coredns", "0.log")
	writeFile(t, other, cri(at(2), "stdout", "F", "seq=2")+cri(at(8), "stdout", "F", "seq=8"))
	// The legacy symlink to the same file is read once.
	links := filepath.Join(root, "containers")
	if err := os.MkdirAll(links, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(other, filepath.Join(links, "coredns-1_kube-system_coredns-0123abcd.log")); err != nil {
		t.Fatal(err)
	}

	alerts, stats := replayTexts(t, replayRules, []string{root}, "")
	if got, want := seqOrder(alerts), []string{"1", "2", "3", "5", "7", "8", "9"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("alerts in order %v, want %v", got, want)
	}
	a := alerts[0]
	if a.Namespace != "cert-manager" || a.Pod != "cm-7d9f" || a.Container != "cert-manager-controller" || a.Node != "laptop" {
		t.Errorf("metadata = %s/%s/%s on %s", a.Namespace, a.Pod, a.Container, a.Node)
	}
	if stats.Lines != 7 || stats.Alerts != 7 {
		t.Errorf("stats = %+v", stats)
	}
}

func TestReplayStdinAndPlainFile(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "kubelet.txt")
	writeFile(t, plain, "Jan 06 03:49:15 host kubelet[1]: E0106 03:49:15.676904 1 x.go:1] seq=2\n")
	alerts, _ := replayTexts(t, replayRules, []string{"-", plain}, "2026-01-06T03:49:14Z stdout F seq=1\nno newline at the end seq=3")
	// The last stdin line has no time of its own, so it keeps the stream's
	// last time and replays before the plain file's later line.
	if got := seqOrder(alerts); !reflect.DeepEqual(got, []string{"1", "3", "2"}) {
		t.Fatalf("alerts = %v", got)
	}
	if alerts[1].Namespace != "" || alerts[1].Pod != "" {
		t.Errorf("plain file got metadata %q/%q", alerts[1].Namespace, alerts[1].Pod)
	}
}

func TestReplayLongLineIsCut(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "big.log")
	long := strings.Repeat("x", 600<<10)
	writeFile(t, f, cri(t0, "stdout", "F", long+" seq=1")+cri(t0, "stdout", "F", "seq=2"))
	alerts, stats := replayTexts(t, replayRules, []string{f}, "")
	if got := seqOrder(alerts); !reflect.DeepEqual(got, []string{"2"}) {
		t.Fatalf("alerts = %v, want only the line after the cut one", got)
	}
	if stats.Truncated != 1 {
		t.Errorf("truncated = %d, want 1", stats.Truncated)
	}
	if err := os.WriteFile(f, []byte(cri(t0, "stdout", "F", "seq=1 "+long)), 0o644); err != nil {
		t.Fatal(err)
	}
	alerts, _ = replayTexts(t, replayRules, []string{f}, "")
	if len(alerts) != 1 || !strings.HasSuffix(alerts[0].Lines[0].Text, TruncatedMarker) {
		t.Errorf("the cut line's sample does not end with the marker")
	}
}

func TestReplayMissingInput(t *testing.T) {
	rs, _ := ParseRules("t", []byte(replayRules))
	_, err := Replay(context.Background(), rs, []string{filepath.Join(t.TempDir(), "nope")}, ReplayOptions{})
	if err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("err = %v, want one naming the path", err)
	}
}

func TestSourceFromPath(t *testing.T) {
	cases := []struct {
		path string
		want Source
	}{
		{"/var/log/pods/cert-manager_cert-manager-7d9f-x2_1a2b/cert-manager-controller/0.log",
			Source{Namespace: "cert-manager", Pod: "cert-manager-7d9f-x2", PodUID: "1a2b", Container: "cert-manager-controller"}},
		{"/var/log/pods/kube-system_coredns-1_u/coredns/3.log.20261003-020500.gz",
			Source{Namespace: "kube-system", Pod: "coredns-1", PodUID: "u", Container: "coredns"}},
		{"/var/log/containers/coredns-1_kube-system_coredns-0a1b2c3d4e5f.log",
			Source{Namespace: "kube-system", Pod: "coredns-1", Container: "coredns"}},
		{"/var/log/containers/ingress-nginx-controller-abc_ingress-nginx_controller-0a1.log",
			Source{Namespace: "ingress-nginx", Pod: "ingress-nginx-controller-abc", Container: "controller"}},
		{"/tmp/saved.log", Source{}},
		{"/var/log/pods/not-a-pod-dir/c/0.log", Source{}},
		{"/var/log/pods/a_b_c/c/0.log.old", Source{}},
	}
	for _, tc := range cases {
		got := SourceFromPath(tc.path)
		g := [5]string{got.Path, got.Namespace, got.Pod, got.PodUID, got.Container}
		w := [5]string{tc.path, tc.want.Namespace, tc.want.Pod, tc.want.PodUID, tc.want.Container}
		if g != w {
			t.Errorf("SourceFromPath(%q) = %q, want %q", tc.path, g, w)
		}
	}
}

// TestReplayKeepsLinesAroundHeldEvents covers a decoder call that emits two
// lines (a held event and the line after it) and one that replaces a held
// event with another: every line must reach the rules with its own text.
func TestReplayKeepsLinesAroundHeldEvents(t *testing.T) {
	f := filepath.Join(t.TempDir(), "0.log")
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Minute) }
	writeFile(t, f, cri(at(1), "stderr", "F", "sync error seq=1")+
		cri(at(2), "stderr", "F", "plain seq=2")+
		cri(at(3), "stderr", "F", "sync error seq=3")+
		cri(at(4), "stderr", "F", "another error seq=4")+
		cri(at(4), "stderr", "F", "\tat io.example.Main(Main.java:1)"))
	alerts, stats := replayTexts(t, replayRules, []string{f}, "")
	if got := seqOrder(alerts); !reflect.DeepEqual(got, []string{"1", "2", "3", "4"}) {
		t.Fatalf("alerts = %v", got)
	}
	if stats.Lines != 4 {
		t.Errorf("lines = %d, want 4 events", stats.Lines)
	}
	if got := alerts[3].Lines[0].Text; got != "another error seq=4\n\tat io.example.Main(Main.java:1)" {
		t.Errorf("joined event = %q", got)
	}
}
