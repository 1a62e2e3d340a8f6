// Package certwatch checks X.509 certificates for expiry and raises
// scanner.Alert values about them, so they reach the same sinks as the log
// rules. It reads certificate files on the node (PEM with one or more
// certificates, DER, and kubeconfig files with embedded certificate data) and
// the chains that TLS endpoints present.
//
// Each certificate is named by its source, which starts with the file path or
// the endpoint's host:port. A kubeconfig entry adds "#user=NAME" or
// "#cluster=NAME", and an endpoint checked with an explicit server name adds
// "#sni=NAME". When a file, a kubeconfig entry or a chain contains several
// certificates, the i-th one (counting from 0) adds "[i]". The first one has
// no index, so a file with one certificate is named by its path alone.
//
// A certificate is superseded when the same directory (or the same endpoint)
// holds a newer certificate with the same subject and issuer that is already
// valid. The kubelet keeps its rotated certificates side by side in
// /var/lib/kubelet/pki, so only the newest one of each subject raises alerts.
//
// A Watcher is driven by one goroutine: Run, or Check for a single round.
// Emit is called from that goroutine.
package certwatch
