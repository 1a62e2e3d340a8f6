package certwatch

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/klaxon-agent/klaxon/scanner"
)

// harness runs a Watcher over files in a temporary directory on a fake clock.
type harness struct {
	t      *testing.T
	dir    string
	clock  *fakeClock
	reg    *prometheus.Registry
	w      *Watcher
	alerts []*scanner.Alert
}

func newHarness(t *testing.T, start time.Time, configure func(*Config)) *harness {
	t.Helper()
	h := &harness{t: t, dir: t.TempDir(), clock: &fakeClock{now: start}, reg: prometheus.NewRegistry()}
	cfg := DefaultConfig()
	cfg.Files = []string{h.dir}
	if configure != nil {
		configure(&cfg)
	}
	w, err := New(cfg, Options{
		Registerer: h.reg,
		Node:       "node-1",
		Emit:       func(a *scanner.Alert) { h.alerts = append(h.alerts, a) },
		Now:        h.clock.Now,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h.w = w
	return h
}

// check runs one round and returns the alerts it emitted.
func (h *harness) check() []*scanner.Alert {
	h.t.Helper()
	before := len(h.alerts)
	h.w.Check(context.Background())
	return h.alerts[before:]
}

func (h *harness) write(name string, data []byte) string {
	return writeFile(h.t, filepath.Join(h.dir, name), data)
}

func wantAlerts(t *testing.T, step string, got []*scanner.Alert, want ...string) {
	t.Helper()
	var have []string
	for _, a := range got {
		s := a.Rule + "/" + a.Severity.String()
		if a.Resolved {
			s += "/resolved"
		}
		have = append(have, s)
	}
	slices.Sort(have)
	slices.Sort(want)
	if !slices.Equal(have, want) {
		t.Fatalf("%s: alerts = %q, want %q", step, have, want)
	}
}

func TestWatcherThresholdLadder(t *testing.T) {
	issued := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	h := newHarness(t, issued.Add(10*day), nil)
	leaf := issue(t, certSpec{cn: "ingress", dns: []string{"app.example"}, notBefore: issued, notAfter: issued.Add(90 * day)}, nil)
	path := h.write("tls.crt", leaf.pem())

	wantAlerts(t, "valid", h.check())

	h.clock.Set(issued.Add(61 * day))
	got := h.check()
	wantAlerts(t, "29 days left", got, "certificate-expiring/warning")
	a := got[0]
	if a.Node != "node-1" {
		t.Errorf("Node = %q, want node-1", a.Node)
	}
	if want := `certificate "CN=ingress" (app.example) at ` + path + " expires in 29d 0h, on 2026-11-30 00:00 UTC"; a.Summary != want {
		t.Errorf("Summary = %q\nwant      %q", a.Summary, want)
	}
	for key, want := range map[string]string{
		"source": path, "serial": fmt.Sprintf("%X", leaf.cert.SerialNumber.Bytes()),
		"not_after": "2026-11-30T00:00:00Z", "threshold": "30d", "subject": "CN=ingress",
	} {
		if a.Labels[key] != want {
			t.Errorf("Labels[%q] = %q, want %q", key, a.Labels[key], want)
		}
	}
	if len(a.Lines) != 1 || !strings.Contains(a.Lines[0].Text, "sha256=") {
		t.Errorf("Lines = %+v, want one sample with the certificate's fields", a.Lines)
	}
	warningKey := a.GroupKey

	wantAlerts(t, "same day again", h.check())

	h.clock.Set(issued.Add(84 * day)) // also past 90 % of the lifetime: only the critical alert is sent
	got = h.check()
	wantAlerts(t, "6 days left", got, "certificate-expiring/critical")
	if got[0].GroupKey == warningKey {
		t.Errorf("critical alert reuses the warning's group key %q", warningKey)
	}

	h.clock.Set(issued.Add(90*day + time.Hour))
	got = h.check()
	wantAlerts(t, "expired", got, "certificate-expired/critical")
	if !strings.Contains(got[0].Summary, "expired 1h 0m ago") {
		t.Errorf("Summary = %q, want the time since expiry", got[0].Summary)
	}

	renewed := issue(t, certSpec{cn: "ingress", dns: []string{"app.example"}, notBefore: issued.Add(90 * day), notAfter: issued.Add(180 * day)}, nil)
	h.write("tls.crt", renewed.pem())
	got = h.check()
	wantAlerts(t, "renewed", got,
		"certificate-expiring/warning/resolved", "certificate-expiring/critical/resolved", "certificate-expired/critical/resolved")
	for _, r := range got {
		if !strings.Contains(r.Summary, "was renewed") || !strings.Contains(r.Summary, "expires on 2027-02-28 00:00 UTC") {
			t.Errorf("resolution Summary = %q, want the renewal and its expiry", r.Summary)
		}
	}
	wantAlerts(t, "after renewal", h.check())
}

func TestWatcherFirstCheckOfExpired(t *testing.T) {
	now := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	h := newHarness(t, now, nil)
	h.write("old.crt", issue(t, valid("old", now, -365*day, -day), nil).pem())
	h.write("ca.key", issue(t, valid("key", now, -day, day), nil).keyPEM(t))

	wantAlerts(t, "first check", h.check(), "certificate-expired/critical")
}

func TestWatcherKubeletRotation(t *testing.T) {
	now := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	h := newHarness(t, now, nil)
	old := issue(t, certSpec{cn: "system:node:node-1", org: "system:nodes", notBefore: now.Add(-360 * day), notAfter: now.Add(5 * day)}, nil)
	oldPath := h.write("kubelet-client-2025-12-09-00-00-00.pem", concat(old.pem(), old.keyPEM(t)))
	current := filepath.Join(h.dir, "kubelet-client-current.pem")
	mustSymlink(t, filepath.Base(oldPath), current)

	got := h.check()
	wantAlerts(t, "old certificate", got, "certificate-expiring/critical")
	if want := oldPath + ", " + current; got[0].Labels["source"] != want {
		t.Errorf("source = %q, want both paths %q", got[0].Labels["source"], want)
	}

	renewed := issue(t, certSpec{cn: "system:node:node-1", org: "system:nodes", notBefore: now, notAfter: now.Add(365 * day)}, nil)
	newPath := h.write("kubelet-client-2026-12-04-00-00-00.pem", concat(renewed.pem(), renewed.keyPEM(t)))
	if err := os.Remove(current); err != nil {
		t.Fatal(err)
	}
	mustSymlink(t, filepath.Base(newPath), current)

	got = h.check()
	wantAlerts(t, "rotated", got, "certificate-expiring/critical/resolved")
	if !strings.Contains(got[0].Summary, "was renewed") || !strings.Contains(got[0].Summary, newPath) {
		t.Errorf("Summary = %q, want the renewal at %s", got[0].Summary, newPath)
	}
}

func TestWatcherNotYetValid(t *testing.T) {
	now := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	h := newHarness(t, now, nil)
	h.write("future.crt", issue(t, valid("future", now, 2*time.Hour, 365*day), nil).pem())

	got := h.check()
	wantAlerts(t, "before", got, "certificate-not-yet-valid/critical")
	if !strings.Contains(got[0].Summary, "is not valid until 2026-12-04 02:00 UTC, in 2h 0m") {
		t.Errorf("Summary = %q", got[0].Summary)
	}

	h.clock.Advance(3 * time.Hour)
	got = h.check()
	wantAlerts(t, "after", got, "certificate-not-yet-valid/critical/resolved")
	if !strings.HasSuffix(got[0].Summary, "is valid now") {
		t.Errorf("Summary = %q", got[0].Summary)
	}
}

func TestWatcherRenewalOverdue(t *testing.T) {
	issued := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	h := newHarness(t, issued.Add(12*time.Hour), nil)
	h.write("workload.crt", issue(t, certSpec{cn: "workload", notBefore: issued, notAfter: issued.Add(day)}, nil).pem())

	wantAlerts(t, "half-way", h.check())

	h.clock.Set(issued.Add(22 * time.Hour))
	got := h.check()
	wantAlerts(t, "92 % of the lifetime", got, "certificate-renewal-overdue/warning")
	if !strings.Contains(got[0].Summary, "has used 92% of its 1d 0h lifetime without being renewed") {
		t.Errorf("Summary = %q", got[0].Summary)
	}
}

func TestWatcherFileErrors(t *testing.T) {
	now := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	h := newHarness(t, now, nil)
	leaf := issue(t, valid("apiserver", now, -360*day, 5*day), nil)
	path := h.write("apiserver.crt", leaf.pem())

	wantAlerts(t, "expiring", h.check(), "certificate-expiring/critical")

	// A corrupted file raises its own alert and keeps the alerts of the
	// certificate it held, because nothing shows that it was renewed.
	h.write("apiserver.crt", leaf.pem()[:300])
	got := h.check()
	wantAlerts(t, "corrupted", got, "certificate-file-error/warning")
	if !strings.Contains(got[0].Summary, "cannot read certificates from "+path) || !strings.Contains(got[0].Summary, "invalid PEM") {
		t.Errorf("Summary = %q", got[0].Summary)
	}
	wantAlerts(t, "still corrupted", h.check())

	h.write("apiserver.crt", leaf.pem())
	got = h.check()
	wantAlerts(t, "repaired", got, "certificate-file-error/warning/resolved")
	if want := "certificates from " + path + " can be read again"; got[0].Summary != want {
		t.Errorf("Summary = %q, want %q", got[0].Summary, want)
	}

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	got = h.check()
	wantAlerts(t, "deleted", got, "certificate-expiring/critical/resolved")
	if !strings.HasSuffix(got[0].Summary, "is no longer found") {
		t.Errorf("Summary = %q", got[0].Summary)
	}
}

func TestWatcherMetrics(t *testing.T) {
	now := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	h := newHarness(t, now, nil)
	old := issue(t, certSpec{cn: "kubelet", notBefore: now.Add(-400 * day), notAfter: now.Add(-35 * day)}, nil)
	cur := issue(t, certSpec{cn: "kubelet", notBefore: now.Add(-35 * day), notAfter: time.Date(2027, 11, 29, 0, 0, 0, 0, time.UTC)}, nil)
	oldPath := h.write("kubelet-old.crt", old.pem())
	curPath := h.write("kubelet.crt", cur.pem())
	h.write("broken.crt", []byte("-----BEGIN CERTIFICATE-----\n"))

	h.check()
	want := `
# HELP klaxon_certificate_expiry_timestamp_seconds Time when the certificate expires (its NotAfter), in seconds since the Unix epoch. Superseded certificates are not exported.
# TYPE klaxon_certificate_expiry_timestamp_seconds gauge
klaxon_certificate_expiry_timestamp_seconds{source="` + curPath + `",subject="CN=kubelet"} 1.8274464e+09
# HELP klaxon_certificate_check_failures_total Checks of certificate files and TLS endpoints that failed, by reason: read, parse, connect or handshake.
# TYPE klaxon_certificate_check_failures_total counter
klaxon_certificate_check_failures_total{reason="connect"} 0
klaxon_certificate_check_failures_total{reason="handshake"} 0
klaxon_certificate_check_failures_total{reason="parse"} 1
klaxon_certificate_check_failures_total{reason="read"} 0
`
	if err := testutil.GatherAndCompare(h.reg, strings.NewReader(want)); err != nil {
		t.Errorf("after first check: %v", err)
	}

	for _, p := range []string{oldPath, curPath} {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	h.check()
	if n := testutil.CollectAndCount(h.w.metrics.expiry); n != 0 {
		t.Errorf("after deleting the files: %d expiry series, want 0", n)
	}
}

func TestWatcherSnapshotRestore(t *testing.T) {
	now := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	first := newHarness(t, now, nil)
	first.write("a.crt", issue(t, valid("a", now, -360*day, 5*day), nil).pem())
	wantAlerts(t, "first agent", first.check(), "certificate-expiring/critical")
	state, err := first.w.Snapshot()
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}

	second := newHarness(t, now.Add(time.Hour), func(c *Config) { c.Files = []string{first.dir} })
	second.dir = first.dir
	if err := second.w.Restore(state); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	wantAlerts(t, "restarted agent", second.check())

	second.write("a.crt", issue(t, valid("a", now, 0, 365*day), nil).pem())
	got := second.check()
	wantAlerts(t, "renewed after restart", got, "certificate-expiring/critical/resolved")
	if got[0].GroupKey == "" || !strings.HasPrefix(got[0].GroupKey, RuleExpiring+"/7d/") {
		t.Errorf("GroupKey = %q, want the restored key", got[0].GroupKey)
	}

	if err := second.w.Restore([]byte(`{"x":{}}`)); err == nil {
		t.Error("Restore accepted an entry without an alert")
	}
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Critical = cfg.Warning
	if _, err := New(cfg, Options{Emit: func(*scanner.Alert) {}}); err == nil || !strings.Contains(err.Error(), "critical: must be less than warning") {
		t.Errorf("New with critical = warning: err = %v", err)
	}
	if _, err := New(DefaultConfig(), Options{}); err == nil {
		t.Error("New without Emit: no error")
	}
	reg := prometheus.NewRegistry()
	opts := Options{Emit: func(*scanner.Alert) {}, Registerer: reg}
	if _, err := New(DefaultConfig(), opts); err != nil {
		t.Fatalf("New: %v", err)
	}
	if _, err := New(DefaultConfig(), opts); err == nil {
		t.Error("second New on the same registry: no error")
	}
}

// BenchmarkWatcherCheck measures one round over 200 certificate files, the
// order of a control-plane node's certificates plus a CA bundle.
func BenchmarkWatcherCheck(b *testing.B) {
	now := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	dir := b.TempDir()
	for i := range 200 {
		c := issue(b, valid(fmt.Sprintf("cert-%d", i), now, -300*day, time.Duration(i)*day), nil)
		writeFile(b, filepath.Join(dir, fmt.Sprintf("cert-%03d.crt", i)), c.pem())
	}
	cfg := DefaultConfig()
	cfg.Files = []string{dir}
	alerts := 0
	w, err := New(cfg, Options{Emit: func(*scanner.Alert) { alerts++ }, Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}

	b.ReportAllocs()
	for b.Loop() {
		w.Check(context.Background())
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/200, "µs/file")
	if alerts == 0 {
		b.Fatal("no alerts raised")
	}
}
