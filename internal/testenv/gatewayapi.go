package testenv

import (
	"fmt"
	"io/fs"
	"path"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"

	gatewayapicrds "github.com/aviary-dev/aviary/config/gateway-api"
)

// Gateway API release channels whose CRDs WithGatewayAPI can install.
const (
	GatewayAPIStandard     = "standard"
	GatewayAPIExperimental = "experimental"
)

// WithGatewayAPI also installs the Gateway API CRDs of one release channel, from the copy
// embedded by config/gateway-api. The experimental channel is a superset of the standard one
// (same kinds with more fields, plus experimental kinds). The safe-upgrades
// ValidatingAdmissionPolicy shipped beside the CRDs is not a CRD and is left out: it only
// guards upgrades between channels, which a fresh test API server never does.
func WithGatewayAPI(channel string) Option {
	return func(o *options) { o.gatewayAPIChannel = channel }
}

// gatewayAPICRDs reads the CRDs of a channel.
func gatewayAPICRDs(channel string) ([]*apiextensionsv1.CustomResourceDefinition, error) {
	var fsys fs.FS
	switch channel {
	case GatewayAPIStandard:
		fsys = gatewayapicrds.Standard
	case GatewayAPIExperimental:
		fsys = gatewayapicrds.Experimental
	default:
		return nil, fmt.Errorf("unknown Gateway API channel %q: use %q or %q", channel, GatewayAPIStandard, GatewayAPIExperimental)
	}
	files, err := fs.Glob(fsys, path.Join(channel, "*.yaml"))
	if err != nil {
		return nil, err
	}
	var out []*apiextensionsv1.CustomResourceDefinition
	for _, name := range files {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		if !strings.Contains(string(b), "\nkind: CustomResourceDefinition\n") {
			continue // the ValidatingAdmissionPolicy file
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.UnmarshalStrict(b, crd); err != nil {
			return nil, fmt.Errorf("reading %s: %w", name, err)
		}
		out = append(out, crd)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no Gateway API CRDs embedded for channel %q: run `make generate`", channel)
	}
	return out, nil
}
