package localcluster

import (
	"os"
	"strconv"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// contextName is the kubeconfig context of the sandbox.
const contextName = "aviary-local"

// apiServerURL is where the sandbox's API server listens.
func apiServerURL(p Ports) string { return "https://127.0.0.1:" + strconv.Itoa(p.APIServer) }

// writeKubeconfigs writes one kubeconfig per identity, with the certificates embedded so
// that a copied kubeconfig keeps working while the sandbox runs.
func writeKubeconfigs(l Layout, pki PKI, ports Ports) error {
	if err := os.MkdirAll(l.KubeconfigDir(), 0o700); err != nil {
		return err
	}
	ca, err := os.ReadFile(pki.CACert())
	if err != nil {
		return err
	}
	for _, id := range identities {
		cert, err := os.ReadFile(pki.ClientCert(id.name))
		if err != nil {
			return err
		}
		key, err := os.ReadFile(pki.ClientKey(id.name))
		if err != nil {
			return err
		}
		cfg := clientcmdapi.NewConfig()
		cfg.Clusters[contextName] = &clientcmdapi.Cluster{Server: apiServerURL(ports), CertificateAuthorityData: ca}
		cfg.AuthInfos[id.user] = &clientcmdapi.AuthInfo{ClientCertificateData: cert, ClientKeyData: key}
		cfg.Contexts[contextName] = &clientcmdapi.Context{Cluster: contextName, AuthInfo: id.user, Namespace: "default"}
		cfg.CurrentContext = contextName
		if err := clientcmd.WriteToFile(*cfg, l.Kubeconfig(id.name)); err != nil {
			return err
		}
	}
	return nil
}

// clientsetFor loads a kubeconfig for the sandbox's helper processes.
func clientsetFor(kubeconfig string) (kubernetes.Interface, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(cfg)
}

// restConfig loads the admin kubeconfig.
func restConfig(l Layout) (*rest.Config, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", l.AdminKubeconfig())
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = 50, 100
	return cfg, nil
}
