package compile

import (
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// grantIndex answers whether a ReferenceGrant in a target namespace allows a reference.
type grantIndex struct {
	byNamespace map[string][]*gwv1.ReferenceGrant
}

func indexGrants(grants []gwv1.ReferenceGrant) *grantIndex {
	idx := &grantIndex{byNamespace: map[string][]*gwv1.ReferenceGrant{}}
	for i := range grants {
		g := &grants[i]
		idx.byNamespace[g.Namespace] = append(idx.byNamespace[g.Namespace], g)
	}
	return idx
}

// allows reports whether an object of fromGroup/fromKind in fromNS may reference the object
// toGroup/toKind/toName in toNS.
func (idx *grantIndex) allows(fromNS, fromGroup, fromKind, toNS, toGroup, toKind, toName string) bool {
	if fromNS == toNS {
		return true
	}
	for _, g := range idx.byNamespace[toNS] {
		if grantFrom(g, fromNS, fromGroup, fromKind) && grantTo(g, toGroup, toKind, toName) {
			return true
		}
	}
	return false
}

func grantFrom(g *gwv1.ReferenceGrant, ns, group, kind string) bool {
	for _, f := range g.Spec.From {
		if string(f.Namespace) == ns && string(f.Group) == group && string(f.Kind) == kind {
			return true
		}
	}
	return false
}

func grantTo(g *gwv1.ReferenceGrant, group, kind, name string) bool {
	for _, t := range g.Spec.To {
		if string(t.Group) == group && string(t.Kind) == kind && (t.Name == nil || string(*t.Name) == name) {
			return true
		}
	}
	return false
}
