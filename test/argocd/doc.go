// Package argocd runs Argo CD's own Rollout health check and resource actions (the Lua scripts
// Argo CD ships in its resource_customizations, read from its Go module in the module cache)
// against Rollouts served by Aviary, and writes an action's result the way Argo CD's API server
// does. Tests use it so that Argo CD, not our reading of it, is the judge of compatibility.
package argocd
