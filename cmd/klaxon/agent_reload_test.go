package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

const diskRule = `
[[rule]]
name = "disk-full"
severity = "warning"
match = 'no space left on device'
summary = "disk full"
`

// reloadSetup is a pod log and a config whose rules file lives in a
// folder laid out like a ConfigMap volume: rules.toml links to
// ..data/rules.toml, and ..data links to a folder of the current version.
type reloadSetup struct {
	t       *testing.T
	dir     string
	log     string
	config  string
	rules   string // the link the config names
	version int
}

func newReloadSetup(t *testing.T) *reloadSetup {
	dir := t.TempDir()
	r := &reloadSetup{t: t, dir: dir, log: filepath.Join(dir, "pods", "kube-system_etcd-0_uid", "etcd", "0.log")}
	if err := os.MkdirAll(filepath.Dir(r.log), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, r.log, "")
	mount := filepath.Join(dir, "config")
	r.rules = filepath.Join(mount, "rules.toml")
	r.publish(e2eRules)
	if err := os.Symlink(filepath.Join("..data", "rules.toml"), r.rules); err != nil {
		t.Fatal(err)
	}
	r.config = filepath.Join(dir, "agent.toml")
	writeFile(t, r.config, fmt.Sprintf(`
log_root = %q
state_dir = %q
rules = [%q]
start_at = "beginning"
metrics_address = "127.0.0.1:0"

[certs]
files = []
`, filepath.Join(dir, "pods"), filepath.Join(dir, "state"), r.rules))
	return r
}

// publish swaps in a new version of the rules the way the kubelet updates
// a ConfigMap volume: a new folder, a new link to it, renamed over ..data.
func (r *reloadSetup) publish(rules string) {
	r.t.Helper()
	mount := filepath.Dir(r.rules)
	r.version++
	name := fmt.Sprintf("..v%d", r.version)
	if err := os.MkdirAll(filepath.Join(mount, name), 0o755); err != nil {
		r.t.Fatal(err)
	}
	writeFile(r.t, filepath.Join(mount, name, "rules.toml"), rules)
	tmp := filepath.Join(mount, "..data_tmp")
	if err := os.Symlink(name, tmp); err != nil {
		r.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(mount, "..data")); err != nil {
		r.t.Fatal(err)
	}
}

// write appends CRI lines to the pod log.
func (r *reloadSetup) write(messages ...string) {
	r.t.Helper()
	f, err := os.OpenFile(r.log, os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		r.t.Fatal(err)
	}
	defer f.Close()
	for _, m := range messages {
		fmt.Fprintf(f, "%s stdout F %s\n", time.Now().UTC().Format(time.RFC3339Nano), m)
	}
}

// waitOutput waits until the buffer contains s n times.
func waitOutput(t *testing.T, b *lockedBuffer, s string, n int) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); strings.Count(b.String(), s) < n; {
		if time.Now().After(deadline) {
			t.Fatalf("%q did not appear %d times in:\n%s", s, n, b.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestAgentReloadsChangedRules(t *testing.T) {
	r := newReloadSetup(t)
	stop, out, errOut := runAgentOutput(t, "--config", r.config, "--log-format", "text")
	base := "http://" + agentAddress(t, errOut)
	r.write("FATAL incident 1")
	waitOutput(t, out, `"rule":"incident"`, 1)

	// A bad version is rejected with its file and line, and the running
	// rules stay.
	r.publish(e2eRules + "\n[[rule]]\nname = \"broken\"\nseverity = \"loud\"\nmatch = 'x'\n")
	waitOutput(t, errOut, `msg="config reload failed`, 1)
	if !strings.Contains(errOut.String(), "rules.toml:") {
		t.Errorf("the reload error does not name the rules file:\n%s", errOut.String())
	}
	r.write("FATAL incident 2")
	waitOutput(t, out, `"rule":"incident"`, 2)

	// A good version takes effect, and the alert state carries over: the
	// repeat of incident 1 stays within its cooldown.
	r.publish(e2eRules + diskRule)
	waitOutput(t, errOut, `msg="config reloaded" trigger="file change"`, 1)
	r.write("FATAL incident 1", "write /var/lib/etcd: no space left on device")
	waitOutput(t, out, `"rule":"disk-full"`, 1)
	if n := strings.Count(out.String(), `"incident":"1"`); n != 1 {
		t.Errorf("incident 1 alerted %d times, want once across the reload:\n%s", n, out.String())
	}

	expected := `
# HELP klaxon_agent_config_reloads_total Reloads of the config and rules files, by result: success or failure.
# TYPE klaxon_agent_config_reloads_total counter
klaxon_agent_config_reloads_total{result="failure"} 1
klaxon_agent_config_reloads_total{result="success"} 1
# HELP klaxon_agent_config_last_reload_successful 1 when the last reload, or the start, loaded the config and rules, 0 when it failed.
# TYPE klaxon_agent_config_last_reload_successful gauge
klaxon_agent_config_last_reload_successful 1
`
	if err := testutil.ScrapeAndCompare(base+"/metrics", strings.NewReader(expected),
		"klaxon_agent_config_reloads_total", "klaxon_agent_config_last_reload_successful"); err != nil {
		t.Error(err)
	}
	if code, stderr := stop(); code != exitOK {
		t.Fatalf("exit status = %d; stderr: %s", code, stderr)
	}
}

func TestAgentReloadRestartsCertWatch(t *testing.T) {
	r := newReloadSetup(t)
	certDir := filepath.Join(r.dir, "pki")
	expired := newCertsTestCert(t, "expired.klaxon.test", nil, -48*time.Hour, -time.Hour)
	writeCertsFile(t, filepath.Join(certDir, "expired.crt"), expired.pem())
	stop, out, errOut := runAgentOutput(t, "--config", r.config, "--log-format", "text")
	agentAddress(t, errOut)

	config, err := os.ReadFile(r.config)
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(config), "files = []", fmt.Sprintf("files = [%q]", certDir), 1)
	writeFile(t, r.config, changed)
	waitOutput(t, out, `"rule":"certificate-expired"`, 1)
	if code, stderr := stop(); code != exitOK {
		t.Fatalf("exit status = %d; stderr: %s", code, stderr)
	}
}

func TestAgentReloadOnSIGHUP(t *testing.T) {
	bin := buildKlaxon(t, raceEnabled)
	r := newReloadSetup(t)
	agent := startAgent(t, bin, &alertSink{}, "--config", r.config)
	reloaded := func() bool {
		for _, line := range strings.Split(agent.logs(), "\n") {
			var rec struct{ Msg, Trigger string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "config reloaded" && rec.Trigger == triggerSignal {
				return true
			}
		}
		return false
	}
	// The signal handler is set up after the agent starts; until then a
	// SIGHUP would end the process.
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(agent.logs(), `"msg":"agent started"`); {
		if time.Now().After(deadline) {
			t.Fatalf("the agent did not start:\n%s", agent.logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := agent.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); !reloaded(); {
		if time.Now().After(deadline) {
			t.Fatalf("no reload after SIGHUP:\n%s", agent.logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := agent.signal(t, syscall.SIGTERM, 30*time.Second); err != nil {
		t.Errorf("agent exit: %v\n%s", err, agent.logs())
	}
}

func TestAgentReloadReopensSinks(t *testing.T) {
	r := newReloadSetup(t)
	hook := newWebhookRecorder(t)
	urlFile := filepath.Join(r.dir, "webhook-url")
	writeFile(t, urlFile, hook.srv.URL+"\n")
	stop, out, errOut := runAgentOutput(t, "--config", r.config, "--log-format", "text")
	agentAddress(t, errOut)
	r.write("FATAL incident 1")
	waitOutput(t, out, `"rule":"incident"`, 1)

	config, err := os.ReadFile(r.config)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, r.config, string(config)+fmt.Sprintf(`
[[sink]]
name = "slack"
type = "slack"
webhook_url_file = %q
`, urlFile))
	waitOutput(t, errOut, `msg="sinks reopened"`, 1)
	r.write("FATAL incident 2")
	hook.waitFor(t, "incident 2")
	if code, stderr := stop(); code != exitOK {
		t.Fatalf("exit status = %d; stderr: %s", code, stderr)
	}
	if strings.Contains(out.String(), `"incident":"2"`) {
		t.Errorf("the alert raised after the reload went to standard output too:\n%s", out.String())
	}
}
