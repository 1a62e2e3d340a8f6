package scanner

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	r := NewRedactor(regexp.MustCompile(`cust-\d{6}`))
	cases := []struct{ in, want string }{
		{"Authorization: Bearer abcdef.ghijkl-123", "Authorization: Bearer [REDACTED]"},
		{`dial https://admin:s3cr3t@loki.example.com/push failed`, `dial https://admin:[REDACTED]@loki.example.com/push failed`},
		{`level=error password=hunter22 user=bob`, `level=error password=[REDACTED] user=bob`},
		{`{"client_secret": "abc123xyz", "id": 4}`, `{"client_secret": "[REDACTED]", "id": 4}`},
		{"key: -----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY----- done", "key: [REDACTED] done"},
		{"token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", "token [REDACTED]"},
		{"aws AKIAIOSFODNN7EXAMPLE used", "aws [REDACTED] used"},
		{"post to https://hooks.slack.com/services/T000/B000/XXXXXXXX failed", "post to https://hooks.slack.com/services/[REDACTED] failed"},
		{"slack xoxb-123456789012-abcdefghij", "slack [REDACTED]"},
		{"customer cust-123456 failed", "customer [REDACTED] failed"},
		{"color \x1b[31mred\x1b[0m and \x00nul \x9b and tab\tok", "color [31mred[0m and nul \uFFFD and tab\tok"},
		{"bad utf8 \xff\xfe end", "bad utf8 \uFFFD end"},
		{"c1 control \u009b[31m end", "c1 control [31m end"},
		{"x509: certificate has expired", "x509: certificate has expired"},
	}
	for _, tc := range cases {
		if got := r.Redact(tc.in); got != tc.want {
			t.Errorf("Redact(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

func TestAlertTextIsRedacted(t *testing.T) {
	te := newTestEngine(t, `
[redact]
patterns = ['tenant-[0-9]+']

[[rule]]
name = "push-failed"
severity = "warning"
match = 'push to (?P<target>\S+) failed'
group_by = ["target"]
summary = "push to {{.target}} failed"
context = 1
`)
	te.feed(certManager, 0, "using password=topsecret1 for tenant-42")
	te.feed(certManager, 1, "push to https://u:pa55word@loki.example.com failed \x1b]0;title\x07")
	if len(te.alerts) != 1 {
		t.Fatalf("got %d alerts, want 1", len(te.alerts))
	}
	out, err := json.Marshal(te.alerts[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"topsecret1", "pa55word", "tenant-42", "\x1b", "\\u001b", "\x07"} {
		if strings.Contains(string(out), secret) {
			t.Errorf("alert carries %q: %s", secret, out)
		}
	}
	if !strings.Contains(te.alerts[0].Summary, "https://u:[REDACTED]@loki.example.com") {
		t.Errorf("summary = %q", te.alerts[0].Summary)
	}
}
