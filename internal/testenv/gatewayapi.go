package testenv

import (
	"fmt"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	gatewayapicrds "github.com/aviary-dev/aviary/config/gateway-api"
	"github.com/aviary-dev/aviary/internal/crdinstall"
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
	switch channel {
	case GatewayAPIStandard:
		return crdinstall.Read(gatewayapicrds.Standard, "standard/*.yaml")
	case GatewayAPIExperimental:
		return crdinstall.Read(gatewayapicrds.Experimental, "experimental/*.yaml")
	}
	return nil, fmt.Errorf("unknown Gateway API channel %q: use %q or %q", channel, GatewayAPIStandard, GatewayAPIExperimental)
}
