package certwatch

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// kubeconfigField is one kind of certificate data that a kubeconfig embeds.
type kubeconfigField struct {
	list  string // top-level key of the named entries
	entry string // key of the entry's body
	data  string // key of the base64 PEM data inside the body
	label string // entry kind in the certificate's source
}

var kubeconfigFields = []kubeconfigField{
	{list: "clusters", entry: "cluster", data: "certificate-authority-data", label: "cluster"},
	{list: "users", entry: "user", data: "client-certificate-data", label: "user"},
}

// parseKubeconfig reads the certificates embedded in a kubeconfig (YAML or
// JSON). It walks the YAML nodes itself instead of decoding into a struct,
// because the decoder's type errors quote values, and a kubeconfig holds
// private keys and tokens. Its errors carry line numbers only.
func parseKubeconfig(source, scope string, data []byte) ([]*Certificate, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil || len(doc.Content) == 0 {
		return nil, ErrNoCertificate
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, ErrNoCertificate
	}

	var (
		certs []*Certificate
		errs  []error
	)
	for _, field := range kubeconfigFields {
		found, err := parseKubeconfigList(source, scope, root, field)
		certs = append(certs, found...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(certs) == 0 && len(errs) == 0 {
		return nil, ErrNoCertificate
	}
	return certs, errors.Join(errs...)
}

func parseKubeconfigList(source, scope string, root *yaml.Node, field kubeconfigField) ([]*Certificate, error) {
	list := mappingValue(root, field.list)
	if list == nil {
		return nil, nil
	}
	if list.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("invalid kubeconfig: line %d: %s is not a list", list.Line, field.list)
	}

	var (
		certs []*Certificate
		errs  []error
	)
	for _, item := range list.Content {
		if item.Kind == yaml.AliasNode {
			item = item.Alias
		}
		body := mappingValue(item, field.entry)
		value := mappingValue(body, field.data)
		if value == nil {
			continue
		}
		name := ""
		if n := mappingValue(item, "name"); n != nil && n.Kind == yaml.ScalarNode {
			name = n.Value
		}
		found, err := decodeKubeconfigData(fmt.Sprintf("%s#%s=%s", source, field.label, name), scope, value)
		certs = append(certs, found...)
		if err != nil {
			errs = append(errs, fmt.Errorf("line %d: %s of %s %q: %w", value.Line, field.data, field.label, name, err))
		}
	}
	return certs, errors.Join(errs...)
}

func decodeKubeconfigData(source, scope string, value *yaml.Node) ([]*Certificate, error) {
	if value.Kind != yaml.ScalarNode {
		return nil, errors.New("not a string")
	}
	// Tools that wrap long lines leave whitespace inside the base64 text.
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(value.Value), ""))
	if err != nil {
		return nil, fmt.Errorf("decode base64: %w", err)
	}
	certs, err := parsePEM(source, scope, der)
	if errors.Is(err, ErrNoCertificate) {
		// The file is a kubeconfig with certificate data, so it is not one to
		// skip: report the bad entry without ErrNoCertificate.
		return nil, errors.New("no PEM certificate in the data")
	}
	return certs, err
}

// mappingValue returns the value of key in the mapping node m, following a
// YAML alias, or nil when m is not a mapping or lacks the key.
func mappingValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value != key {
			continue
		}
		if v := m.Content[i+1]; v.Kind != yaml.AliasNode {
			return v
		}
		return m.Content[i+1].Alias
	}
	return nil
}
