package sinks_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/klaxon-agent/klaxon/scanner"
	"github.com/klaxon-agent/klaxon/sinks"
	"github.com/klaxon-agent/klaxon/sinks/sinkstest"
)

func alert(rule string, sev scanner.Severity) *scanner.Alert {
	return &scanner.Alert{Rule: rule, Severity: sev}
}

func TestRouterTargets(t *testing.T) {
	routes := []sinks.Route{
		{Severities: []scanner.Severity{scanner.SeverityCritical}, Sinks: []string{"pager", "loki"}},
		{Rules: []string{"oom-killed"}, Sinks: []string{"team", "loki"}},
		{Rules: []string{"etcd-slow"}, Severities: []scanner.Severity{scanner.SeverityWarning}, Sinks: []string{"team"}},
		{Sinks: []string{"loki"}},
	}
	named := []sinks.Named{
		{Name: "pager", Sink: &sinkstest.Sink{}},
		{Name: "team", Sink: &sinkstest.Sink{}},
		{Name: "loki", Sink: &sinkstest.Sink{}},
	}
	r, err := sinks.NewRouter(named, routes, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		alert *scanner.Alert
		want  []string
	}{
		{"severity route", alert("disk-full", scanner.SeverityCritical), []string{"pager", "loki"}},
		{"rule route", alert("oom-killed", scanner.SeverityWarning), []string{"team", "loki"}},
		{"both routes once each", alert("oom-killed", scanner.SeverityCritical), []string{"pager", "loki", "team"}},
		{"rule and severity both match", alert("etcd-slow", scanner.SeverityWarning), []string{"team"}},
		{"rule matches but severity not", alert("etcd-slow", scanner.SeverityInfo), []string{"loki"}},
		{"default route", alert("other", scanner.SeverityInfo), []string{"loki"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.Targets(tt.alert); !slices.Equal(got, tt.want) {
				t.Errorf("Targets = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRouterSendAndClose(t *testing.T) {
	pager, loki := &sinkstest.Sink{}, &sinkstest.Sink{}
	r, err := sinks.NewRouter([]sinks.Named{{Name: "pager", Sink: pager}, {Name: "loki", Sink: loki}}, []sinks.Route{
		{Severities: []scanner.Severity{scanner.SeverityCritical}, Sinks: []string{"pager"}},
		{Sinks: []string{"loki"}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []*scanner.Alert{alert("a", scanner.SeverityCritical), alert("b", scanner.SeverityInfo)} {
		if err := r.Send(context.Background(), a); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	if got := pager.Rules(); !slices.Equal(got, []string{"a"}) {
		t.Errorf("pager got %v, want [a]", got)
	}
	if got := loki.Rules(); !slices.Equal(got, []string{"b"}) {
		t.Errorf("loki got %v, want [b]", got)
	}
	if err := r.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if !pager.Closed() || !loki.Closed() {
		t.Errorf("closed: pager %v, loki %v; want both", pager.Closed(), loki.Closed())
	}
}

func TestRouterWithoutRoutesSendsEverywhere(t *testing.T) {
	first, second := &sinkstest.Sink{}, &sinkstest.Sink{}
	r, err := sinks.NewRouter([]sinks.Named{{Name: "first", Sink: first}, {Name: "second", Sink: second}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Send(context.Background(), alert("x", scanner.SeverityInfo)); err != nil {
		t.Fatal(err)
	}
	if got := first.Rules(); len(got) != 1 {
		t.Errorf("first sink got %v, want the alert", got)
	}
	if got := second.Rules(); len(got) != 1 {
		t.Errorf("second sink got %v, want the alert", got)
	}
}

func TestRouterSendNamesFailingSink(t *testing.T) {
	boom := errors.New("disk full")
	bad := &sinkstest.Sink{SendFunc: func(context.Context, *scanner.Alert) error { return boom }}
	good := &sinkstest.Sink{}
	r, err := sinks.NewRouter([]sinks.Named{{Name: "bad", Sink: bad}, {Name: "good", Sink: good}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = r.Send(context.Background(), alert("x", scanner.SeverityInfo))
	if !errors.Is(err, boom) {
		t.Fatalf("Send = %v, want it to wrap %v", err, boom)
	}
	if !strings.Contains(err.Error(), "sink bad") {
		t.Errorf("Send = %q, want the failing sink's name", err)
	}
	if len(good.Rules()) != 1 {
		t.Errorf("good sink got %v, want the alert despite the other failure", good.Rules())
	}
}

func TestValidateRoutes(t *testing.T) {
	names := []string{"slack", "loki"}
	tests := []struct {
		name   string
		routes []sinks.Route
		want   string
	}{
		{name: "valid", routes: []sinks.Route{{Rules: []string{"r"}, Sinks: []string{"slack"}}, {Sinks: []string{"loki"}}}},
		{name: "unknown sink", routes: []sinks.Route{{Sinks: []string{"slack", "loki", "pagerduty"}}}, want: `route[0].sinks: unknown sink "pagerduty"`},
		{name: "no sinks", routes: []sinks.Route{{Rules: []string{"r"}}, {Sinks: names}}, want: "route[0].sinks: missing"},
		{name: "two defaults", routes: []sinks.Route{{Sinks: []string{"slack"}}, {Sinks: []string{"loki"}}}, want: "route[1]: second default route"},
		{name: "unused sink", routes: []sinks.Route{{Sinks: []string{"slack"}}}, want: `sink "loki": not used by any route`},
		{name: "empty rule", routes: []sinks.Route{{Rules: []string{""}, Sinks: names}}, want: "route[0].rules[0]: empty rule name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := sinks.ValidateRoutes(tt.routes, names)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("ValidateRoutes = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ValidateRoutes = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestCheckRuleNames(t *testing.T) {
	routes := []sinks.Route{{Rules: []string{"oom-killed", "oom-kiled"}, Sinks: []string{"s"}}}
	err := sinks.CheckRuleNames(routes, []string{"oom-killed"})
	if err == nil || !strings.Contains(err.Error(), `route[0].rules[1]: no rule is named "oom-kiled"`) {
		t.Errorf("CheckRuleNames = %v, want the misspelt rule named", err)
	}
}

func TestValidateName(t *testing.T) {
	for _, name := range []string{"slack", "slack-oncall", "loki_2", "A1"} {
		if err := sinks.ValidateName(name); err != nil {
			t.Errorf("ValidateName(%q) = %v, want nil", name, err)
		}
	}
	for _, name := range []string{"", "../etc", "a/b", "-x", "has space", strings.Repeat("a", 65)} {
		if err := sinks.ValidateName(name); !errors.Is(err, sinks.ErrInvalidName) {
			t.Errorf("ValidateName(%q) = %v, want ErrInvalidName", name, err)
		}
	}
}

func TestRouterLogsUnroutedAlertsOnce(t *testing.T) {
	pager := &sinkstest.Sink{}
	var logs bytes.Buffer
	r, err := sinks.NewRouter([]sinks.Named{{Name: "pager", Sink: pager}}, []sinks.Route{
		{Severities: []scanner.Severity{scanner.SeverityCritical}, Sinks: []string{"pager"}},
	}, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := r.Send(context.Background(), alert("lease", scanner.SeverityWarning)); err != nil {
			t.Fatal(err)
		}
	}
	if got := pager.Rules(); len(got) != 0 {
		t.Errorf("pager got %v, want nothing", got)
	}
	if n := strings.Count(logs.String(), "no route matches"); n != 1 {
		t.Errorf("unrouted alerts logged %d times, want once:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "rule=lease") {
		t.Errorf("log does not name the rule:\n%s", logs.String())
	}
}
