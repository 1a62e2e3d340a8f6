package certwatch

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

func TestConfigDecode(t *testing.T) {
	const doc = `
files = ["/etc/kubernetes/pki", "/srv/tls/*.crt"]
interval = "1h"
warning = "21d"
critical = "3d12h"
renewal_overdue = 0.667

[[endpoints]]
address = "127.0.0.1:6443"

[[endpoints]]
address = "https://ingress.internal"
server_name = "app.example"
interval = "5m"
timeout = "3s"
`
	cfg := DefaultConfig()
	md, err := toml.Decode(doc, &cfg)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if u := md.Undecoded(); len(u) > 0 {
		t.Errorf("undecoded keys: %v", u)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}

	if !slices.Equal(cfg.Files, []string{"/etc/kubernetes/pki", "/srv/tls/*.crt"}) {
		t.Errorf("Files = %q", cfg.Files)
	}
	if time.Duration(cfg.Interval) != time.Hour {
		t.Errorf("Interval = %v", cfg.Interval)
	}
	if time.Duration(cfg.Timeout) != 10*time.Second {
		t.Errorf("Timeout = %v, want the 10s default", cfg.Timeout)
	}
	th := cfg.Thresholds()
	if th.Warning != 21*day || th.Critical != 3*day+12*time.Hour || th.RenewalOverdue != 0.667 {
		t.Errorf("Thresholds = %+v", th)
	}
	if len(cfg.Endpoints) != 2 {
		t.Fatalf("Endpoints = %+v", cfg.Endpoints)
	}
	want := Endpoint{Address: "https://ingress.internal", ServerName: "app.example", Interval: Duration(5 * time.Minute), Timeout: Duration(3 * time.Second)}
	if cfg.Endpoints[1] != want {
		t.Errorf("Endpoints[1] = %+v, want %+v", cfg.Endpoints[1], want)
	}
}

func TestConfigDecodeRejectsIntegerDuration(t *testing.T) {
	cfg := DefaultConfig()
	_, err := toml.Decode("warning = 30\n", &cfg)
	if err == nil || !strings.Contains(err.Error(), `invalid duration "30"`) {
		t.Errorf("err = %v, want an invalid duration error", err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Config)
		want   []string // substrings, one per problem
	}{
		{name: "default", modify: func(*Config) {}},
		{name: "short interval", modify: func(c *Config) { c.Interval = Duration(time.Millisecond) }, want: []string{`interval: must be at least 1s, got "1ms"`}},
		{name: "no timeout", modify: func(c *Config) { c.Timeout = 0 }, want: []string{"timeout: must be positive"}},
		{name: "critical above warning", modify: func(c *Config) { c.Critical = Duration(40 * day) }, want: []string{`critical: must be less than warning ("30d"), got "40d"`}},
		{name: "thresholds off", modify: func(c *Config) { c.Warning, c.Critical, c.RenewalOverdue = 0, 0, 0 }},
		{name: "share of 1", modify: func(c *Config) { c.RenewalOverdue = 1 }, want: []string{"renewal_overdue: must be a share"}},
		{name: "bad glob", modify: func(c *Config) { c.Files = []string{"/etc/[pki"} }, want: []string{`files[0]: invalid glob "/etc/[pki"`}},
		{
			name: "bad endpoints",
			modify: func(c *Config) {
				c.Endpoints = []Endpoint{{Address: "example.test"}, {Address: "127.0.0.1:443", Interval: Duration(time.Millisecond), Timeout: -1}}
			},
			want: []string{"endpoints[0].address: invalid endpoint", "endpoints[1].interval: must be at least 1s", "endpoints[1].timeout: must not be negative"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.modify(&cfg)
			err := cfg.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Errorf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate: no error, want %q", tt.want)
			}
			if lines := strings.Split(err.Error(), "\n"); len(lines) != len(tt.want) {
				t.Errorf("got %d problems, want %d: %v", len(lines), len(tt.want), err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}
