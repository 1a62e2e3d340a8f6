package main

import (
	"compress/gzip"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// e2eRules raise one alert per incident number, and one per probe that
// fails three times within ten minutes.
const e2eRules = `
[[rule]]
name = "incident"
severity = "critical"
match = 'FATAL incident (?P<incident>[0-9]+)'
group_by = ["incident"]
cooldown = "1h"
summary = "incident {{.incident}}"
# Every incident is expected as its own alert, so no storm limit applies.
max_alerts = 0

[[rule]]
name = "probe-failing"
severity = "warning"
match = 'probe failed: (?P<probe>[a-z0-9-]+)'
threshold = 3
window = "10m"
group_by = ["probe"]
cooldown = "1h"
summary = "probe {{.probe}} failing"
`

// Kubelet-like rotation sizes, small so that rotations are frequent.
const (
	e2eRotateBytes = 16 << 10
	e2eMaxFiles    = 5 // the current file plus four rotations, as the kubelet's default
)

// container is one container log that the test writes like a container
// runtime, and rotates like the kubelet.
type container struct {
	t        *testing.T
	ns, pod  string
	path     string
	f        *os.File
	size     int64
	rotation int // rotations so far, for unique rotation names
	rotated  []string
	n        int
	rnd      *rand.Rand
	deleted  bool
	quiet    bool // writes nothing more
}

// cluster is the set of containers of the test, with the expected alerts.
type cluster struct {
	t          *testing.T
	root       string
	containers []*container
	extra      *plainLog
	want       map[string]bool // alert keys expected exactly once
	incident   int
	rnd        *rand.Rand
}

func newCluster(t *testing.T, root string) *cluster {
	return &cluster{t: t, root: root, want: map[string]bool{}, rnd: rand.New(rand.NewPCG(1, 2))}
}

// addPod creates a pod folder with one container log per name.
func (c *cluster) addPod(ns, pod string, names ...string) []*container {
	var out []*container
	for _, name := range names {
		ct := &container{
			t: c.t, ns: ns, pod: pod, rnd: rand.New(rand.NewPCG(uint64(len(c.containers)), 7)),
			path: filepath.Join(c.root, fmt.Sprintf("%s_%s_%08x-uid", ns, pod, len(c.containers)), name, "0.log"),
		}
		if err := os.MkdirAll(filepath.Dir(ct.path), 0o755); err != nil {
			c.t.Fatal(err)
		}
		ct.open()
		c.containers = append(c.containers, ct)
		out = append(out, ct)
	}
	return out
}

// deletePod removes the folder of ct's pod, as the kubelet does after the
// pod's containers stopped.
func (c *cluster) deletePod(ct *container) {
	dir := filepath.Dir(filepath.Dir(ct.path))
	for _, o := range c.containers {
		if filepath.Dir(filepath.Dir(o.path)) == dir {
			o.deleted = true
			o.f.Close()
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		c.t.Fatal(err)
	}
}

func (ct *container) open() {
	f, err := os.OpenFile(ct.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		ct.t.Fatal(err)
	}
	ct.f, ct.size = f, 0
}

// record writes one CRI record.
func (ct *container) record(stream, tag, msg string) {
	line := fmt.Sprintf("%s %s %s %s\n", time.Now().UTC().Format(time.RFC3339Nano), stream, tag, msg)
	n, err := ct.f.WriteString(line)
	if err != nil {
		ct.t.Fatal(err)
	}
	ct.size += int64(n)
}

// noise writes ordinary lines: klog-style messages, some long enough to be
// split into "P" chunks as containerd splits lines over its size limit.
func (ct *container) noise(lines int) {
	for range lines {
		ct.n++
		msg := fmt.Sprintf("I0301 10:00:00.000000       1 controller.go:%d] synced item %d of %s", 100+ct.n%50, ct.n, ct.pod)
		if ct.rnd.IntN(20) == 0 {
			long := msg + " " + strings.Repeat("x", 300)
			ct.record("stdout", "P", long[:150])
			ct.record("stderr", "F", "W0301 unrelated warning on the other stream")
			ct.record("stdout", "F", long[150:])
			continue
		}
		ct.record("stdout", "F", msg)
	}
	if ct.size >= e2eRotateBytes {
		ct.rotate()
	}
}

// rotate renames the log away, as the kubelet does, and keeps writing to
// the renamed file for a moment, as the runtime does until it reopens.
// Older rotations are compressed and the oldest deleted.
func (ct *container) rotate() {
	ct.rotation++
	name := fmt.Sprintf("%s.%s", ct.path, time.Date(2025, 3, 1, 10, 0, ct.rotation, 0, time.UTC).Format("20060102-150405"))
	if err := os.Rename(ct.path, name); err != nil {
		ct.t.Fatal(err)
	}
	ct.noiseNoRotate(3)
	ct.f.Close()
	for _, old := range ct.rotated {
		if !strings.HasSuffix(old, ".gz") {
			gzipFile(ct.t, old)
		}
	}
	for i := range ct.rotated {
		if !strings.HasSuffix(ct.rotated[i], ".gz") {
			ct.rotated[i] += ".gz"
		}
	}
	ct.rotated = append(ct.rotated, name)
	for len(ct.rotated) > e2eMaxFiles-1 {
		if err := os.Remove(ct.rotated[0]); err != nil {
			ct.t.Fatal(err)
		}
		ct.rotated = ct.rotated[1:]
	}
	ct.open()
}

func (ct *container) noiseNoRotate(lines int) {
	size := ct.size
	ct.size = 0
	ct.noise(lines)
	ct.size = size
}

// gzipFile compresses path to path.gz through a temporary file and removes
// path, as the kubelet does.
func gzipFile(t *testing.T, path string) {
	in, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	tmp := path + ".tmp"
	out, err := os.Create(tmp)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(out)
	if _, err := io.Copy(zw, in); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path+".gz"); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}

// plainLog is a plain log file outside the kubelet's layout, rotated by
// copy and truncate as logrotate's copytruncate does.
type plainLog struct {
	t    *testing.T
	path string
	f    *os.File
	size int64
	n    int
}

func newPlainLog(t *testing.T, path string) *plainLog {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return &plainLog{t: t, path: path, f: f}
}

func (p *plainLog) line(msg string) {
	n, err := fmt.Fprintf(p.f, "%s %s\n", time.Now().UTC().Format(time.RFC3339Nano), msg)
	if err != nil {
		p.t.Fatal(err)
	}
	p.size += int64(n)
}

func (p *plainLog) noise(lines int) {
	for range lines {
		p.n++
		p.line(fmt.Sprintf("apiserver: handled request %d", p.n))
	}
	if p.size < e2eRotateBytes {
		return
	}
	// Shift .1 to .2, copy the log to .1, then truncate it.
	os.Rename(p.path+".1", p.path+".2")
	data, err := os.ReadFile(p.path)
	if err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(p.path+".1", data, 0o644); err != nil {
		p.t.Fatal(err)
	}
	if err := p.f.Truncate(0); err != nil {
		p.t.Fatal(err)
	}
	p.size = 0
}

// tick writes a round of ordinary lines to every live container.
func (c *cluster) tick(lines int) {
	for _, ct := range c.containers {
		if !ct.deleted && !ct.quiet {
			ct.noise(lines)
		}
	}
	if c.extra != nil {
		c.extra.noise(lines)
	}
}

// incidentAt writes a new incident line to ct, as one record or split into
// chunks with a record of the other stream in between. It returns the alert
// key, expected unless the namespace is not followed.
func (c *cluster) incidentAt(ct *container, expected bool) string {
	c.incident++
	msg := fmt.Sprintf("E0301 10:00:00.000000 1 server.go:88] FATAL incident %d: storage unreachable", c.incident)
	if c.rnd.IntN(2) == 0 {
		ct.record("stderr", "P", msg[:20])
		ct.record("stdout", "F", "I0301 interleaved line on stdout")
		ct.record("stderr", "F", msg[20:])
	} else {
		ct.record("stderr", "F", msg)
	}
	key := fmt.Sprintf("incident/%d", c.incident)
	if expected {
		c.want[key] = true
	}
	return key
}

// extraIncident writes an incident to the plain log.
func (c *cluster) extraIncident() {
	c.incident++
	c.extra.line(fmt.Sprintf("apiserver: FATAL incident %d: etcd unreachable", c.incident))
	c.want[fmt.Sprintf("incident/%d", c.incident)] = true
}

// probe writes one failure of probe name to ct.
func (c *cluster) probe(ct *container, name string) {
	ct.record("stdout", "F", fmt.Sprintf("I0301 prober.go:107] probe failed: %s", name))
}

// alertKey names an alert by rule and group.
func alertKey(a receivedAlert) string {
	switch a.Rule {
	case "incident":
		return "incident/" + a.Labels["incident"]
	case "probe-failing":
		return "probe/" + a.Labels["probe"]
	}
	return a.Rule + "/?"
}

func TestAgentEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the agent binary for about a minute")
	}
	bin := buildKlaxon(t, raceEnabled)
	dir := t.TempDir()
	root := filepath.Join(dir, "pods")
	state := filepath.Join(dir, "state")
	rules := filepath.Join(dir, "rules.toml")
	config := filepath.Join(dir, "agent.toml")
	writeFile(t, rules, e2eRules)
	writeFile(t, config, fmt.Sprintf(`
log_root = %q
state_dir = %q
rules = [%q]
node = "node-a"
start_at = "beginning"
extra_files = [%q]
metrics_address = "127.0.0.1:0"

[follow]
save_interval = "1s"
`, root, state, rules, filepath.Join(dir, "extra", "*.log")))

	c := newCluster(t, root)
	var followed, ignored []*container
	for i := range 6 {
		followed = append(followed, c.addPod("kube-system", fmt.Sprintf("etcd-%d", i), "etcd", "sidecar")...)
	}
	followed = append(followed, c.addPod("cert-manager", "cert-manager-5d7f", "controller")...)
	followed = append(followed, c.addPod("ingress-nginx", "controller-8f9c", "controller")...)
	ignored = c.addPod("default", "shop-1", "web")
	c.extra = newPlainLog(t, filepath.Join(dir, "extra", "apiserver.log"))
	pick := func() *container {
		for {
			if ct := followed[c.rnd.IntN(len(followed))]; !ct.deleted && !ct.quiet {
				return ct
			}
		}
	}
	// run writes rounds of noise for d, with an incident every few rounds.
	run := func(d time.Duration, incidents bool) {
		for end := time.Now().Add(d); time.Now().Before(end); {
			c.tick(1)
			if incidents && c.rnd.IntN(8) == 0 {
				c.incidentAt(pick(), true)
			}
			if incidents && c.rnd.IntN(40) == 0 {
				c.incidentAt(ignored[0], false)
			}
			if incidents && c.rnd.IntN(30) == 0 {
				c.extraIncident()
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	sink := &alertSink{}
	agent := startAgent(t, bin, sink, "--config", config)
	run(3*time.Second, true)
	c.probe(followed[0], "etcd-health")
	c.probe(followed[1], "etcd-health")
	removed := c.addPod("kube-system", "kube-proxy-x", "kube-proxy")[0]
	run(time.Second, true)
	c.incidentAt(removed, true)
	c.deletePod(removed)
	// A pod whose last line is an incident, removed while the agent is down.
	doomed := c.addPod("ingress-nginx", "admission-1", "create")[0]
	run(200*time.Millisecond, true)
	c.incidentAt(doomed, true)
	doomed.quiet = true
	waitForAlerts(t, sink, agent, c.want, time.Minute)
	run(300*time.Millisecond, false)

	// Lines the agent has not read yet when it is killed, and the second
	// failure of a probe whose window spans the restart.
	c.incidentAt(pick(), true)
	c.probe(followed[2], "etcd-health")
	c.probe(followed[3], "apiserver-ready")
	if _, err := agent.signal(t, syscall.SIGKILL, 10*time.Second); err == nil {
		t.Fatal("agent exited cleanly after SIGKILL")
	}

	// While the agent is down: rotations, compressed rotations, a pod
	// deleted and one created.
	run(1500*time.Millisecond, true)
	c.deletePod(doomed)
	late := c.addPod("kube-system", "coredns-77", "coredns")[0]
	followed = append(followed, late)
	c.incidentAt(late, true)

	agent = startAgent(t, bin, sink, "--config", config)
	run(2*time.Second, true)
	c.probe(followed[4], "etcd-health")
	c.probe(followed[5], "apiserver-ready")
	c.probe(late, "apiserver-ready")
	c.want["probe/etcd-health"], c.want["probe/apiserver-ready"] = true, true
	newer := c.addPod("cert-manager", "webhook-1", "webhook")[0]
	followed = append(followed, newer)
	run(time.Second, true)
	c.incidentAt(newer, true)
	waitForAlerts(t, sink, agent, c.want, 2*time.Minute)

	// Late duplicates would show up while the agent keeps running.
	run(1500*time.Millisecond, false)
	took, err := agent.signal(t, syscall.SIGTERM, 30*time.Second)
	if err != nil {
		t.Errorf("agent exited with %v after SIGTERM; its log:\n%s", err, agent.logs())
	}
	// The race detector adds a second at exit.
	t.Logf("agent stopped %s after SIGTERM (race detector: %v)", took.Round(time.Millisecond), raceEnabled)
	if errs := agent.errorLogs(); len(errs) > 0 {
		t.Errorf("agent logged errors:\n%s", strings.Join(errs, "\n"))
	}
	checkAlertSet(t, sink, c.want)
}

// waitForAlerts waits until every alert in want arrived.
func waitForAlerts(t *testing.T, sink *alertSink, agent *agentProcess, want map[string]bool, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		got := map[string]bool{}
		for _, a := range sink.list() {
			got[alertKey(a)] = true
		}
		var missing []string
		for k := range want {
			if !got[k] {
				missing = append(missing, k)
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			sort.Strings(missing)
			t.Fatalf("alerts missing after %s: %s\nagent log:\n%s", limit, strings.Join(missing, ", "), agent.logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkAlertSet checks that every expected alert arrived exactly once and
// nothing else did.
func checkAlertSet(t *testing.T, sink *alertSink, want map[string]bool) {
	t.Helper()
	counts := map[string]int{}
	for _, a := range sink.list() {
		counts[alertKey(a)]++
	}
	for k := range want {
		if counts[k] != 1 {
			t.Errorf("alert %s arrived %d times, want once", k, counts[k])
		}
	}
	for k, n := range counts {
		if !want[k] {
			t.Errorf("unexpected alert %s arrived %d times", k, n)
		}
	}
	if len(sink.bad) > 0 {
		t.Errorf("standard output has lines that are not alerts: %q", sink.bad)
	}
	t.Logf("%d distinct alerts, each once", len(want))
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
