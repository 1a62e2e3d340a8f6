package scanner

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestLineFields(t *testing.T) {
	cases := []struct {
		name, text string
		want       map[string]string
	}{
		{
			"klog structured",
			`E0618 11:50:27.041578       1 sync.go:190] "propagation check failed" err="DNS record for \"whoami.example.com\" not yet propagated" logger="cert-manager.controller" type="DNS-01"`,
			map[string]string{"level": "error", "source": "sync.go:190", "msg": "propagation check failed",
				"err": `DNS record for "whoami.example.com" not yet propagated`, "error": `DNS record for "whoami.example.com" not yet propagated`,
				"logger": "cert-manager.controller", "type": "DNS-01"},
		},
		{
			"logr pairs",
			`E0105 14:20:08.488171       1 sync.go:186] cert-manager/controller/challenges "msg"="propagation check failed" "error"="wrong status code '404', expected '200'" "type"="HTTP-01" `,
			map[string]string{"level": "error", "source": "sync.go:186", "msg": "propagation check failed",
				"error": "wrong status code '404', expected '200'", "type": "HTTP-01"},
		},
		{
			"logfmt",
			`time="2025-11-05T09:56:32Z" level=error msg="Failure in zone example.com." zoneName=example.com.`,
			map[string]string{"time": "2025-11-05T09:56:32Z", "level": "error", "msg": "Failure in zone example.com.", "zoneName": "example.com."},
		},
		{
			"json",
			`{"level":"warn","ts":"2026-10-03T02:00:14.123Z","caller":"etcdserver/util.go:170","msg":"apply request took too long","took":"1.512s","expected-duration":"100ms"}`,
			map[string]string{"level": "warning", "ts": "2026-10-03T02:00:14.123Z", "caller": "etcdserver/util.go:170",
				"msg": "apply request took too long", "took": "1.512s", "expected-duration": "100ms"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := &Line{Text: []byte(tc.text)}
			if got := l.Fields(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("fields = %v\nwant %v", got, tc.want)
			}
		})
	}
}

func TestRuleFieldConditions(t *testing.T) {
	te := newTestEngine(t, `
[[rule]]
name = "etcd-slow"
severity = "warning"
match = "took too long"
group_by = ["fields.caller"]
summary = "{{.fields.msg}} ({{.fields.took}})"
labels = { caller = "{{.fields.caller}}" }
[rule.fields]
took = { gt = "1s" }
level = "warning"
`)
	te.feed(certManager, 0, `{"level":"warn","caller":"a.go:1","msg":"apply request took too long","took":"512ms"}`)
	te.feed(certManager, time.Second, `{"level":"info","caller":"a.go:1","msg":"apply request took too long","took":"2s"}`)
	te.feed(certManager, 2*time.Second, `{"level":"warn","caller":"a.go:1","msg":"apply request took too long","took":"1.5s"}`)
	if len(te.alerts) != 1 {
		t.Fatalf("got %d alerts, want 1 (the warn line over 1s)", len(te.alerts))
	}
	a := te.alerts[0]
	if a.Summary != "apply request took too long (1.5s)" {
		t.Errorf("summary = %q", a.Summary)
	}
	if a.Labels["caller"] != "a.go:1" || a.Labels["fields_caller"] != "a.go:1" {
		t.Errorf("labels = %v", a.Labels)
	}
}

func TestFieldConditionErrors(t *testing.T) {
	cases := map[string]string{
		"took = { gt = \"soon\" }":        `fields.took: gt needs a number or a duration: invalid duration "soon"`,
		"took = { between = 1 }":          `fields.took: unknown test "between" (allowed: equals, match, exists, gt, gte, lt, lte)`,
		"err = { match = \"(\" }":         `fields.err: invalid match pattern: error parsing regexp`,
		"err = { match = \"x\", gt = 1 }": `fields.err: needs exactly one test`,
		"err = 5":                         `fields.err: must be a string or a table`,
		"err = { exists = \"yes\" }":      `fields.err: exists needs true or false, not a string`,
	}
	for body, want := range cases {
		_, err := ParseRules("r.toml", []byte("[[rule]]\nname = \"a\"\nseverity = \"info\"\nmatch = \"xyz\"\n[rule.fields]\n"+body+"\n"))
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "r.toml:6:") {
			t.Errorf("fields %s gave %v\nwant %q at line 6", body, err, want)
		}
	}
}
