package setup

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"go.uber.org/goleak"

	"github.com/klaxon-agent/klaxon/scanner"
	"github.com/klaxon-agent/klaxon/sinks"
	"github.com/klaxon-agent/klaxon/sinks/loki"
	"github.com/klaxon-agent/klaxon/sinks/slack"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// agentConfig stands for the agent's config struct, which embeds Config.
type agentConfig struct {
	StateDir string `toml:"state_dir"`
	Config
}

func decode(t *testing.T, text string) ([]Spec, []sinks.Route, []toml.Key, error) {
	t.Helper()
	var cfg agentConfig
	md, err := toml.Decode(text, &cfg)
	if err != nil {
		t.Fatalf("toml: %v", err)
	}
	specs, err := Decode(&md, cfg.Config)
	return specs, cfg.Routes, md.Undecoded(), err
}

const example = `
state_dir = "/var/lib/klaxon"

[[sink]]
name = "slack-oncall"
type = "slack"
webhook_url_file = "/etc/klaxon/slack/webhook-url"
retry_max = "2m"

[[sink]]
name = "loki"
type = "loki"
url = "http://loki.monitoring:3100/loki/api/v1/push"
tenant_id = "platform"
labels = { cluster = "prod" }
spool_max_alerts = 5000
[sink.tls]
ca_file = "/etc/klaxon/loki/ca.crt"

[[route]]
severities = ["critical"]
sinks = ["slack-oncall", "loki"]

[[route]]
sinks = ["loki"]
`

func TestDecodeExample(t *testing.T) {
	specs, routes, undecoded, err := decode(t, example)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if len(undecoded) != 0 {
		t.Errorf("undecoded keys %v, want none", undecoded)
	}
	if len(specs) != 2 {
		t.Fatalf("%d specs, want 2", len(specs))
	}
	sc, ok := specs[0].Config.(slack.Config)
	if !ok || sc.WebhookURLFile != "/etc/klaxon/slack/webhook-url" || sc.RetryMax != sinks.Duration(2*time.Minute) {
		t.Errorf("slack spec = %+v", specs[0])
	}
	lc, ok := specs[1].Config.(loki.Config)
	if !ok || lc.TenantID != "platform" || lc.Labels["cluster"] != "prod" || lc.TLS.CAFile != "/etc/klaxon/loki/ca.crt" || lc.MaxAlerts != 5000 {
		t.Errorf("loki spec = %+v", specs[1])
	}
	if len(routes) != 2 || !slices.Equal(routes[0].Severities, []scanner.Severity{scanner.SeverityCritical}) {
		t.Errorf("routes = %+v", routes)
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		text string
		want string
	}{
		{"missing type", "[[sink]]\nname = \"a\"\nurl = \"http://x\"\n", `sink[0]: type: missing`},
		{"unknown type", "[[sink]]\nname = \"a\"\ntype = \"pagerduty\"\n", `unknown sink type "pagerduty"`},
		{"invalid slack", "[[sink]]\nname = \"a\"\ntype = \"slack\"\n", `sink[0]: slack sink "a": webhook_url_file, webhook_url_env, token_file or token_env: missing`},
		{"duplicate name", "[[sink]]\nname = \"a\"\ntype = \"loki\"\nurl = \"http://x\"\n[[sink]]\nname = \"a\"\ntype = \"loki\"\nurl = \"http://y\"\n", `sink[1]: name "a" is used by an earlier sink`},
		{"bad route", "[[sink]]\nname = \"a\"\ntype = \"loki\"\nurl = \"http://x\"\n[[route]]\nsinks = [\"b\"]\n", `route[0].sinks: unknown sink "b"`},
		{"integer duration", "[[sink]]\nname = \"a\"\ntype = \"loki\"\nurl = \"http://x\"\ntimeout = 30\n", `invalid duration "30"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cfg agentConfig
			md, err := toml.Decode(tt.text, &cfg)
			if err == nil {
				_, err = Decode(&md, cfg.Config)
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestDecodeLeavesUnknownKeysUndecoded(t *testing.T) {
	text := "[[sink]]\nname = \"a\"\ntype = \"slack\"\nwebhook_url_env = \"URL\"\nurl = \"http://loki\"\n"
	_, _, undecoded, err := decode(t, text)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if len(undecoded) != 1 || undecoded[0].String() != "sink.url" {
		t.Errorf("undecoded = %v, want [sink.url], a Loki key in a Slack sink", undecoded)
	}
}

func TestOpenStartsSinksAndRouter(t *testing.T) {
	t.Setenv("KLAXON_TEST_WEBHOOK", "http://127.0.0.1:1/services/test")
	text := `
[[sink]]
name = "chat"
type = "slack"
webhook_url_env = "KLAXON_TEST_WEBHOOK"

[[sink]]
name = "store"
type = "loki"
url = "http://127.0.0.1:1/loki/api/v1/push"
`
	specs, routes, _, err := decode(t, text)
	if err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	router, err := Open(specs, routes, sinks.Options{StateDir: state})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if got := router.Targets(&scanner.Alert{Rule: "r", Severity: scanner.SeverityInfo}); !slices.Equal(got, []string{"chat", "store"}) {
		t.Errorf("targets = %v, want both sinks", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := router.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}

	// A second Open of the same state folder works once the first closed.
	again, err := Open(specs, routes, sinks.Options{StateDir: state})
	if err != nil {
		t.Fatalf("second Open: %v", err)
	}
	again.Close(ctx)
}

func TestOpenClosesStartedSinksOnFailure(t *testing.T) {
	t.Setenv("KLAXON_TEST_WEBHOOK", "http://127.0.0.1:1/services/test")
	specs := []Spec{
		{Name: "chat", Type: TypeSlack, Config: slack.Config{Name: "chat", WebhookURLEnv: "KLAXON_TEST_WEBHOOK"}},
		{Name: "broken", Type: TypeSlack, Config: slack.Config{Name: "broken", WebhookURLEnv: "KLAXON_TEST_UNSET_VARIABLE"}},
	}
	state := t.TempDir()
	if _, err := Open(specs, nil, sinks.Options{StateDir: state}); err == nil {
		t.Fatal("Open succeeded with a missing secret")
	}
	// The first sink released its spool folder.
	router, err := Open(specs[:1], nil, sinks.Options{StateDir: state})
	if err != nil {
		t.Fatalf("Open after a failed Open: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	router.Close(ctx)
}

func TestDecodeRejectsTwoLokiSinksOnOneHost(t *testing.T) {
	text := `
[[sink]]
name = "loki-a"
type = "loki"
url = "http://127.0.0.1:3100/loki/api/v1/push"
[[sink]]
name = "loki-b"
type = "loki"
url = "http://127.0.0.1:3100/loki/api/v1/push"
tenant_id = "other"
`
	var cfg Config
	md, err := toml.Decode(text, &cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Decode(&md, cfg)
	if err == nil || !strings.Contains(err.Error(), "loki-a") || !strings.Contains(err.Error(), "loki-b") {
		t.Fatalf("err = %v, want one naming both sinks", err)
	}
}
