package certwatch

import (
	"testing"
	"time"
)

const day = 24 * time.Hour

func TestThresholdsStatus(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		notBefore time.Duration // relative to now
		notAfter  time.Duration
		want      Status
	}{
		{name: "valid", notBefore: -30 * day, notAfter: 335 * day, want: StatusOK},
		{name: "warning", notBefore: -70 * day, notAfter: 20 * day, want: StatusWarning},
		{name: "critical", notBefore: -85 * day, notAfter: 5 * day, want: StatusCritical},
		{name: "expired", notBefore: -91 * day, notAfter: -time.Hour, want: StatusExpired},
		{name: "valid until the last second", notBefore: -90 * day, notAfter: 0, want: StatusCritical},
		{name: "not yet valid", notBefore: time.Hour, notAfter: 90 * day, want: StatusNotYetValid},
		{name: "renewal overdue", notBefore: -22 * time.Hour, notAfter: 2 * time.Hour, want: StatusRenewalOverdue},
		{name: "short-lived mid-life", notBefore: -12 * time.Hour, notAfter: 12 * time.Hour, want: StatusOK},
		{name: "short-lived expired", notBefore: -25 * time.Hour, notAfter: -time.Hour, want: StatusExpired},
		{name: "warning needs lifetime over 60d", notBefore: -40 * day, notAfter: 20 * day, want: StatusOK},
		{name: "warning at 61d lifetime", notBefore: -41 * day, notAfter: 20 * day, want: StatusWarning},
		{name: "critical needs lifetime over 14d", notBefore: -9 * day, notAfter: 5 * day, want: StatusOK},
		{name: "overdue below threshold", notBefore: -340 * day, notAfter: 25 * day, want: StatusWarning},
	}
	th := DefaultThresholds()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Certificate{NotBefore: now.Add(tt.notBefore), NotAfter: now.Add(tt.notAfter)}
			if got := th.Status(c, now); got != tt.want {
				t.Errorf("Status = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestThresholdsDisabled(t *testing.T) {
	now := time.Now()
	c := &Certificate{NotBefore: now.Add(-359 * day), NotAfter: now.Add(6 * day)}
	if got := (Thresholds{}).Status(c, now); got != StatusOK {
		t.Errorf("Status with no thresholds = %q, want ok", got)
	}
	if got := (Thresholds{Warning: 30 * day}).Status(c, now); got != StatusWarning {
		t.Errorf("Status with only a warning threshold = %q, want warning", got)
	}
}

func TestAssessSupersession(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	cert := func(source, scope, subject string, notBefore, notAfter time.Duration, dns ...string) *Certificate {
		return &Certificate{
			Source: source, scope: scope, Subject: subject, Issuer: "CN=kubernetes", DNSNames: dns,
			NotBefore: now.Add(notBefore), NotAfter: now.Add(notAfter), SHA256: source,
		}
	}
	tests := []struct {
		name  string
		certs []*Certificate
		want  map[string]Status // by source
	}{
		{
			name: "kubelet rotation in one directory",
			certs: []*Certificate{
				cert("pki/kubelet-client-2025.pem", "pki", "CN=system:node:a", -400*day, -35*day),
				cert("pki/kubelet-client-2026a.pem", "pki", "CN=system:node:a", -35*day, 5*day),
				cert("pki/kubelet-client-2026b.pem", "pki", "CN=system:node:a", -day, 364*day),
			},
			want: map[string]Status{
				"pki/kubelet-client-2025.pem": StatusSuperseded, "pki/kubelet-client-2026a.pem": StatusSuperseded, "pki/kubelet-client-2026b.pem": StatusOK,
			},
		},
		{
			name: "other directory keeps its own",
			certs: []*Certificate{
				cert("a/admin.conf#user=admin", "a", "CN=admin", -360*day, 5*day),
				cert("b/admin.conf#user=admin", "b", "CN=admin", -day, 364*day),
			},
			want: map[string]Status{"a/admin.conf#user=admin": StatusCritical, "b/admin.conf#user=admin": StatusOK},
		},
		{
			name: "not yet valid supersedes nothing",
			certs: []*Certificate{
				cert("pki/old.crt", "pki", "CN=x", -360*day, 5*day),
				cert("pki/new.crt", "pki", "CN=x", day, 366*day),
			},
			want: map[string]Status{"pki/old.crt": StatusCritical, "pki/new.crt": StatusNotYetValid},
		},
		{
			name: "different names are different certificates",
			certs: []*Certificate{
				cert("tls/a.crt", "tls", "", -80*day, 10*day, "a.example"),
				cert("tls/b.crt", "tls", "", -10*day, 80*day, "b.example"),
			},
			want: map[string]Status{"tls/a.crt": StatusWarning, "tls/b.crt": StatusOK},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Assess(tt.certs, DefaultThresholds(), now)
			if len(got) != len(tt.certs) {
				t.Fatalf("got %d assessments, want %d", len(got), len(tt.certs))
			}
			for i, a := range got {
				if want := tt.want[a.Certificate.Source]; a.Status != want {
					t.Errorf("%s: Status = %q, want %q", a.Certificate.Source, a.Status, want)
				}
				if a.TimeLeft != a.Certificate.NotAfter.Sub(now) {
					t.Errorf("%s: TimeLeft = %v, want %v", a.Certificate.Source, a.TimeLeft, a.Certificate.NotAfter.Sub(now))
				}
				if i > 0 && got[i-1].Certificate.NotAfter.After(a.Certificate.NotAfter) {
					t.Errorf("not sorted by expiry: %s before %s", got[i-1].Certificate.Source, a.Certificate.Source)
				}
			}
		})
	}
}

func TestFormatTimeLeft(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{29*day + 4*time.Hour + 59*time.Minute, "29d 4h"},
		{day, "1d 0h"},
		{5*time.Hour + 12*time.Minute, "5h 12m"},
		{12*time.Minute + 30*time.Second, "12m"},
		{45 * time.Second, "45s"},
		{0, "0s"},
		{-(3*day + 2*time.Hour), "-3d 2h"},
	}
	for _, tt := range tests {
		if got := FormatTimeLeft(tt.in); got != tt.want {
			t.Errorf("FormatTimeLeft(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
