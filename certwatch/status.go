package certwatch

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/klaxon-agent/klaxon/scanner"
)

// Rule names of the alerts that certwatch raises.
const (
	RuleExpiring            = "certificate-expiring"
	RuleExpired             = "certificate-expired"
	RuleNotYetValid         = "certificate-not-yet-valid"
	RuleRenewalOverdue      = "certificate-renewal-overdue"
	RuleEndpointUnreachable = "certificate-endpoint-unreachable"
	RuleHandshakeFailed     = "certificate-endpoint-handshake-failed"
	RuleFileError           = "certificate-file-error"
)

// Thresholds decide when a certificate raises an alert.
type Thresholds struct {
	// Warning and Critical are the times left before NotAfter below which a
	// warning and a critical alert are raised, and 0 disables one. A
	// threshold applies only to certificates whose lifetime is more than twice
	// the threshold, because a short-lived certificate spends its whole life
	// below a threshold sized for long-lived ones. RenewalOverdue and the
	// expired alert cover such certificates.
	Warning  time.Duration
	Critical time.Duration
	// RenewalOverdue is the share of its lifetime (0 to 1) after which a
	// certificate that has not been superseded raises a warning. 0 disables it.
	RenewalOverdue float64
}

// DefaultThresholds returns a warning at 30 days, a critical alert at 7 days,
// and a renewal-overdue alert at 90 % of the lifetime. The kubelet renews its
// certificates at a random point between 70 % and 90 % of their lifetime
// (client-go's certificate manager), so a lower share would raise alerts on
// healthy nodes. cert-manager renews at two thirds by default.
func DefaultThresholds() Thresholds {
	return Thresholds{Warning: 30 * 24 * time.Hour, Critical: 7 * 24 * time.Hour, RenewalOverdue: 0.9}
}

// Status is a certificate's state at one point in time.
type Status string

// Statuses of a certificate. Status returns the most urgent one that applies,
// in this order: not yet valid or expired, critical, warning, renewal overdue.
const (
	StatusSuperseded     Status = "superseded"
	StatusOK             Status = "ok"
	StatusRenewalOverdue Status = "renewal overdue"
	StatusWarning        Status = "warning"
	StatusCritical       Status = "critical"
	StatusExpired        Status = "expired"
	StatusNotYetValid    Status = "not yet valid"
)

// condition is one alerting state of a certificate. Rank orders the
// conditions of one certificate: when several start at once, only the
// highest is sent.
type condition struct {
	rule      string
	severity  scanner.Severity
	threshold time.Duration // for RuleExpiring only
	status    Status
	rank      int
}

// conditions returns the alerting states of c at now.
func (t Thresholds) conditions(c *Certificate, now time.Time) []condition {
	if now.Before(c.NotBefore) {
		return []condition{{rule: RuleNotYetValid, severity: scanner.SeverityCritical, status: StatusNotYetValid, rank: 4}}
	}

	var conds []condition
	lifetime := c.Lifetime()
	if t.RenewalOverdue > 0 && float64(now.Sub(c.NotBefore)) >= t.RenewalOverdue*float64(lifetime) {
		conds = append(conds, condition{rule: RuleRenewalOverdue, severity: scanner.SeverityWarning, status: StatusRenewalOverdue, rank: 1})
	}
	left := c.NotAfter.Sub(now)
	if t.Warning > 0 && left < t.Warning && lifetime > 2*t.Warning {
		conds = append(conds, condition{rule: RuleExpiring, severity: scanner.SeverityWarning, threshold: t.Warning, status: StatusWarning, rank: 2})
	}
	if t.Critical > 0 && left < t.Critical && lifetime > 2*t.Critical {
		conds = append(conds, condition{rule: RuleExpiring, severity: scanner.SeverityCritical, threshold: t.Critical, status: StatusCritical, rank: 3})
	}
	// x509 treats NotAfter itself as valid.
	if now.After(c.NotAfter) {
		conds = append(conds, condition{rule: RuleExpired, severity: scanner.SeverityCritical, status: StatusExpired, rank: 4})
	}
	return conds
}

// Status returns the most urgent state of c at now, ignoring supersession.
func (t Thresholds) Status(c *Certificate, now time.Time) Status {
	status, rank := StatusOK, 0
	for _, cond := range t.conditions(c, now) {
		if cond.rank > rank {
			status, rank = cond.status, cond.rank
		}
	}
	return status
}

// superseded returns the certificates that a newer certificate with the same
// scope, subject, issuer and names replaces. Only a certificate that is
// already valid supersedes another.
func superseded(certs []*Certificate, now time.Time) map[*Certificate]bool {
	newest := make(map[string]*Certificate)
	for _, c := range certs {
		if now.Before(c.NotBefore) {
			continue
		}
		key := supersessionKey(c)
		if n, ok := newest[key]; !ok || c.NotAfter.After(n.NotAfter) {
			newest[key] = c
		}
	}

	old := make(map[*Certificate]bool)
	for _, c := range certs {
		if n := newest[supersessionKey(c)]; n != nil && n.NotAfter.After(c.NotAfter) {
			old[c] = true
		}
	}
	return old
}

func supersessionKey(c *Certificate) string {
	return strings.Join([]string{c.scope, c.Subject, c.Issuer, strings.Join(c.DNSNames, ","), strings.Join(c.IPAddresses, ",")}, "\x00")
}

// Assessment is a certificate's status at one point in time.
type Assessment struct {
	Certificate *Certificate
	Status      Status
	TimeLeft    time.Duration // until NotAfter, negative once expired
}

// Assess returns the status of each certificate at now, soonest expiry
// first.
func Assess(certs []*Certificate, t Thresholds, now time.Time) []Assessment {
	old := superseded(certs, now)
	out := make([]Assessment, 0, len(certs))
	for _, c := range certs {
		status := StatusSuperseded
		if !old[c] {
			status = t.Status(c, now)
		}
		out = append(out, Assessment{Certificate: c, Status: status, TimeLeft: c.NotAfter.Sub(now)})
	}
	slices.SortStableFunc(out, func(a, b Assessment) int {
		return cmp.Or(a.Certificate.NotAfter.Compare(b.Certificate.NotAfter), cmp.Compare(a.Certificate.Source, b.Certificate.Source))
	})
	return out
}
