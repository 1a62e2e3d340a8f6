package certwatch

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/klaxon-agent/klaxon/scanner"
)

// maxSourcesShown limits the sources that a summary lists.
const maxSourcesShown = 3

func formatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04 MST")
}

// describe names a certificate for a summary: its subject, a few of its
// names, and where it was found.
func describe(c *Certificate, sources []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "certificate %q", c.Name())
	if names := c.ShortNames(3); names != "" && names != c.Name() {
		fmt.Fprintf(&b, " (%s)", names)
	}
	b.WriteString(" at ")
	if len(sources) > maxSourcesShown {
		fmt.Fprintf(&b, "%s and %d more", strings.Join(sources[:maxSourcesShown], ", "), len(sources)-maxSourcesShown)
	} else {
		b.WriteString(strings.Join(sources, ", "))
	}
	return b.String()
}

func certAlert(cond condition, c *Certificate, sources []string, node string, now time.Time) *scanner.Alert {
	described := describe(c, sources)
	left := c.NotAfter.Sub(now)
	var summary string
	switch cond.rule {
	case RuleNotYetValid:
		summary = fmt.Sprintf("%s is not valid until %s, in %s", described, formatTime(c.NotBefore), FormatTimeLeft(c.NotBefore.Sub(now)))
	case RuleExpired:
		summary = fmt.Sprintf("%s expired %s ago, on %s", described, FormatTimeLeft(-left), formatTime(c.NotAfter))
	case RuleExpiring:
		summary = fmt.Sprintf("%s expires in %s, on %s", described, FormatTimeLeft(left), formatTime(c.NotAfter))
	case RuleRenewalOverdue:
		used := 100 * float64(now.Sub(c.NotBefore)) / float64(c.Lifetime())
		summary = fmt.Sprintf("%s has used %.0f%% of its %s lifetime without being renewed, and expires in %s, on %s",
			described, used, FormatTimeLeft(c.Lifetime()), FormatTimeLeft(left), formatTime(c.NotAfter))
	}

	labels := map[string]string{
		"source":    strings.Join(sources, ", "),
		"subject":   c.Subject,
		"issuer":    c.Issuer,
		"serial":    c.Serial,
		"not_after": c.NotAfter.UTC().Format(time.RFC3339),
		"sha256":    c.SHA256,
	}
	if cond.rule == RuleExpiring {
		labels["threshold"] = Duration(cond.threshold).String()
	}
	return &scanner.Alert{
		Rule:      cond.rule,
		Severity:  cond.severity,
		Summary:   summary,
		Node:      node,
		FirstSeen: now,
		LastSeen:  now,
		Count:     1,
		Lines:     []scanner.Sample{{Time: now, Text: details(c, sources)}},
		Labels:    labels,
	}
}

// details writes every field of c on one line, as the alert's evidence.
func details(c *Certificate, sources []string) string {
	return fmt.Sprintf("subject=%q issuer=%q dns_names=%q ip_addresses=%q not_before=%s not_after=%s serial=%s sha256=%s sources=%q",
		c.Subject, c.Issuer, strings.Join(c.DNSNames, ","), strings.Join(c.IPAddresses, ","),
		c.NotBefore.UTC().Format(time.RFC3339), c.NotAfter.UTC().Format(time.RFC3339), c.Serial, c.SHA256,
		strings.Join(sources, ","))
}

func errorRule(kind sourceKind, err error) string {
	if kind == kindFile {
		return RuleFileError
	}
	var ee *EndpointError
	if errors.As(err, &ee) && ee.Op == OpHandshake {
		return RuleHandshakeFailed
	}
	return RuleEndpointUnreachable
}

func errorAlert(source string, kind sourceKind, err error, node string, now time.Time) *scanner.Alert {
	rule := errorRule(kind, err)
	cause := err
	var ee *EndpointError
	if errors.As(err, &ee) {
		cause = ee.Err
	}

	var summary string
	switch rule {
	case RuleFileError:
		summary = fmt.Sprintf("cannot read certificates from %s: %v", source, cause)
	case RuleHandshakeFailed:
		summary = fmt.Sprintf("TLS handshake with %s failed before the server sent its certificates: %v", source, cause)
	default:
		summary = fmt.Sprintf("TLS endpoint %s is unreachable: %v", source, cause)
	}
	return &scanner.Alert{
		Rule:      rule,
		Severity:  scanner.SeverityWarning,
		Summary:   summary,
		Node:      node,
		FirstSeen: now,
		LastSeen:  now,
		Count:     1,
		Labels:    map[string]string{"source": source, "error": cause.Error()},
		GroupKey:  rule + "/" + source,
	}
}

// resolved returns the resolution of a, with a summary that names what ended
// the condition. entries are the certificates found at now.
func (t *tracker) resolved(a *activeAlert, entries map[string]*certEntry, now time.Time) *scanner.Alert {
	r := cloneAlert(a.Alert)
	r.Resolved = true
	r.LastSeen = now
	r.Lines = nil
	if a.Cert != nil {
		r.Summary = certResolution(a, entries)
	} else {
		r.Summary = t.errorResolution(a)
	}
	return r
}

func certResolution(a *activeAlert, entries map[string]*certEntry) string {
	described := describe(a.Cert, a.Sources)
	if e := entries[a.Cert.SHA256]; e != nil && e.current {
		if a.Alert.Rule == RuleNotYetValid {
			return described + " is valid now"
		}
		return fmt.Sprintf("%s no longer meets the %s condition", described, a.Alert.Rule)
	}
	if replacement := renewal(a.Cert, entries); replacement != nil {
		return fmt.Sprintf("%s was renewed: the new certificate at %s expires on %s",
			described, strings.Join(replacement.sources, ", "), formatTime(replacement.cert.NotAfter))
	}
	return described + " is no longer found"
}

// renewal returns the current certificate with the name of old (its subject,
// else its first DNS name or IP address) that expires last, if it expires
// after old, or nil.
func renewal(old *Certificate, entries map[string]*certEntry) *certEntry {
	var best *certEntry
	for _, e := range entries {
		if !e.current || e.cert.Name() != old.Name() || !e.cert.NotAfter.After(old.NotAfter) {
			continue
		}
		if best == nil || e.cert.NotAfter.After(best.cert.NotAfter) ||
			(e.cert.NotAfter.Equal(best.cert.NotAfter) && e.sources[0] < best.sources[0]) {
			best = e
		}
	}
	return best
}

func (t *tracker) errorResolution(a *activeAlert) string {
	s := t.sources[a.Source]
	switch {
	case s == nil && a.Kind == kindFile:
		return fmt.Sprintf("%s no longer exists", a.Source)
	case s == nil:
		return fmt.Sprintf("TLS endpoint %s is no longer checked", a.Source)
	case s.err != nil:
		return fmt.Sprintf("%s fails in another way now: %v", a.Source, s.err)
	case a.Alert.Rule == RuleFileError:
		return fmt.Sprintf("certificates from %s can be read again", a.Source)
	case a.Alert.Rule == RuleHandshakeFailed:
		return fmt.Sprintf("TLS handshake with %s reaches the server's certificates again", a.Source)
	}
	return fmt.Sprintf("TLS endpoint %s accepts connections again", a.Source)
}
