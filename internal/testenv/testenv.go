// Package testenv starts a real kube-apiserver and etcd (built by `make controlplane`) with
// Aviary's CRDs installed, for integration tests. With WithControllerManager it also runs the
// real kube-controller-manager, and StartPodFixture stands in for a kubelet so that the
// ReplicaSets a controller creates get pods that run and become ready.
package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/config/crd"
	"github.com/aviary-dev/aviary/internal/crdinstall"
)

// crdInstallTimeout bounds installing the CRDs into a fresh API server and waiting until it
// serves them; it takes a second or two, the margin is for a loaded 2-core machine.
const crdInstallTimeout = 2 * time.Minute

// Env is a running API server with a client for it, and optionally a kube-controller-manager.
type Env struct {
	Config *rest.Config
	Client client.Client
	Scheme *k8sruntime.Scheme

	env *envtest.Environment
	kcm *controllerManager

	// workDir holds files shared with kube-controller-manager (kubeconfig, service-account key,
	// log). It is "" without WithControllerManager.
	workDir  string
	mu       sync.Mutex
	keepLogs bool
}

// Option changes what Start starts.
type Option func(*options)

type options struct {
	controllerManager bool
	gatewayAPIChannel string
}

// WithControllerManager also starts kube-controller-manager from KUBEBUILDER_ASSETS with the
// controllers that turn ReplicaSets and Deployments into pods, collect garbage, finalize
// namespaces and create ServiceAccounts. Nothing schedules or runs those pods: see
// StartPodFixture.
func WithControllerManager() Option {
	return func(o *options) { o.controllerManager = true }
}

// RepoRoot is the repository's top directory, found from this source file.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Start starts etcd and kube-apiserver from KUBEBUILDER_ASSETS and installs the CRDs of
// config/crd/bases (as embedded by package config/crd); with WithControllerManager,
// kube-controller-manager too. Stop the returned Env when done.
func Start(opts ...Option) (*Env, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		return nil, errors.New("KUBEBUILDER_ASSETS is not set: run `make test-integration`, or " +
			"export KUBEBUILDER_ASSETS=$(make -s controlplane | tail -n 1) before `go test`")
	}
	bins := []string{"etcd", "kube-apiserver"}
	if o.controllerManager {
		bins = append(bins, "kube-controller-manager")
	}
	for _, bin := range bins {
		if _, err := os.Stat(filepath.Join(assets, bin)); err != nil {
			return nil, fmt.Errorf("KUBEBUILDER_ASSETS=%s has no %s: run `make controlplane`: %w", assets, bin, err)
		}
	}

	scheme := k8sruntime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	crds, err := o.crds()
	if err != nil {
		return nil, err
	}
	e := &Env{Scheme: scheme}
	e.env = &envtest.Environment{BinaryAssetsDirectory: assets, Scheme: scheme}
	var saKey string
	if o.controllerManager {
		dir, err := os.MkdirTemp("", "aviary-testenv-")
		if err != nil {
			return nil, err
		}
		e.workDir = dir
		// The API server verifies and signs service-account tokens with a key we generate, so
		// that kube-controller-manager can be given the same key without relying on the file
		// names envtest uses inside its own certificate directory.
		if saKey, err = writeServiceAccountKey(dir); err != nil {
			_ = os.RemoveAll(dir)
			return nil, err
		}
		e.env.ControlPlane.GetAPIServer().Configure().
			Set("service-account-key-file", saKey).
			Set("service-account-signing-key-file", saKey)
	}

	cfg, err := e.env.Start()
	if err != nil {
		// envtest leaves etcd and the API server running when a later start-up step fails;
		// stop them, or they outlive the test run.
		stopErr := e.env.Stop()
		e.removeWorkDir()
		return nil, errors.Join(fmt.Errorf("starting kube-apiserver and etcd from %s: %w", assets, err), stopErr)
	}
	e.Config = cfg
	if err := installCRDs(cfg, crds); err != nil {
		return nil, errors.Join(err, e.Stop())
	}
	if e.Client, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		_ = e.Stop()
		return nil, err
	}
	if o.controllerManager {
		if e.kcm, err = e.startControllerManager(filepath.Join(assets, "kube-controller-manager"), saKey); err != nil {
			e.KeepLogs()
			return nil, errors.Join(err, e.Stop())
		}
	}
	return e, nil
}

// crds are the CRDs Start installs: Aviary's, and those of the Gateway API channel asked for.
func (o options) crds() ([]*apiextensionsv1.CustomResourceDefinition, error) {
	crds, err := crdinstall.Read(crd.Bases, "bases/*.yaml")
	if err != nil || o.gatewayAPIChannel == "" {
		return crds, err
	}
	gw, err := gatewayAPICRDs(o.gatewayAPIChannel)
	return append(crds, gw...), err
}

// installCRDs installs crds into the API server of cfg and waits until it serves them.
func installCRDs(cfg *rest.Config, crds []*apiextensionsv1.CustomResourceDefinition) error {
	ctx, cancel := context.WithTimeout(context.Background(), crdInstallTimeout)
	defer cancel()
	if _, err := crdinstall.Install(ctx, cfg, crds); err != nil {
		return fmt.Errorf("installing the CRDs into the test API server: %w", err)
	}
	return nil
}

// ControllerManagerLog is the path of kube-controller-manager's log file, or "" when it was not
// started. The file is removed by Stop unless KeepLogs was called.
func (e *Env) ControllerManagerLog() string {
	if e.workDir == "" {
		return ""
	}
	return filepath.Join(e.workDir, controllerManagerLogName)
}

// KeepLogs makes Stop leave kube-controller-manager's log (and its working directory) in place,
// for a failed run to be inspected.
func (e *Env) KeepLogs() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.keepLogs = true
}

// Stop stops kube-controller-manager (if started), then the API server and etcd.
func (e *Env) Stop() error {
	var errs []error
	if e.kcm != nil {
		if err := e.kcm.stop(); err != nil {
			errs = append(errs, err)
		}
		e.kcm = nil
	}
	if err := e.env.Stop(); err != nil {
		errs = append(errs, err)
	}
	e.removeWorkDir()
	return errors.Join(errs...)
}

func (e *Env) removeWorkDir() {
	e.mu.Lock()
	keep := e.keepLogs
	e.mu.Unlock()
	if e.workDir != "" && !keep {
		_ = os.RemoveAll(e.workDir)
	}
}
