package localnode

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// startProbes starts the probes of run; c.mu is held. Without a startup probe the container
// counts as started at once; without a readiness probe it is ready once started.
func (c *container) startProbes(ctx context.Context, run *containerRun) {
	run.started = c.spec.StartupProbe == nil
	run.ready = run.started && c.spec.ReadinessProbe == nil
	if c.spec.StartupProbe == nil && c.spec.ReadinessProbe == nil && c.spec.LivenessProbe == nil {
		return
	}
	go func() {
		if c.spec.StartupProbe != nil && !c.runStartupProbe(ctx, run) {
			return
		}
		if c.spec.ReadinessProbe != nil {
			go c.probeLoop(ctx, c.spec.ReadinessProbe, readinessProbe, false, func(s probeState, changed bool, _ probeOutcome) bool {
				if changed {
					c.setRun(run, func(r *containerRun) { r.ready = s.passing })
				}
				return false
			})
		}
		if c.spec.LivenessProbe != nil {
			go c.probeLoop(ctx, c.spec.LivenessProbe, livenessProbe, true, func(s probeState, changed bool, out probeOutcome) bool {
				if changed && !s.passing {
					c.restart(run, "Liveness probe failed: "+out.Message)
					return true
				}
				return false
			})
		}
	}()
}

// runStartupProbe probes until the startup probe passes (true) or fails failureThreshold
// times in a row, which restarts the container (false).
func (c *container) runStartupProbe(ctx context.Context, run *containerRun) bool {
	passed := false
	c.probeLoop(ctx, c.spec.StartupProbe, startupProbe, false, func(s probeState, _ bool, out probeOutcome) bool {
		if s.passing {
			passed = true
			c.setRun(run, func(r *containerRun) { r.started, r.ready = true, c.spec.ReadinessProbe == nil })
			return true
		}
		if s.failures >= s.failNeed {
			c.restart(run, "Startup probe failed: "+out.Message)
			return true
		}
		return false
	})
	return passed
}

// probeLoop runs probe p on its schedule until ctx ends or onOutcome says stop.
func (c *container) probeLoop(ctx context.Context, p *corev1.Probe, kind probeKind, initial bool, onOutcome func(probeState, bool, probeOutcome) bool) {
	initialDelay, period := probeSchedule(p)
	state := newProbeState(p, initial)
	timer := time.NewTimer(initialDelay)
	defer timer.Stop()
	toldNotRun := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		out := checkProbe(ctx, c.env.Probes, p, c.env.PodIP, c.spec.Ports)
		if ctx.Err() != nil {
			return
		}
		switch {
		case out.NotRun && !toldNotRun:
			toldNotRun = true
			c.env.Event(corev1.EventTypeNormal, "ProbeNotRun", "%s probe of container %s: %s", kind, c.spec.Name, out.Message)
		case !out.OK:
			c.env.Event(corev1.EventTypeWarning, "Unhealthy", "%s probe failed: %s", kind, out.Message)
		}
		changed := state.observe(out.OK)
		if onOutcome(state, changed, out) {
			return
		}
		timer.Reset(period)
	}
}

// setRun changes run's probe results if it is still the current run, and reports the change.
func (c *container) setRun(run *containerRun, change func(*containerRun)) {
	c.mu.Lock()
	current := c.run == run
	if current {
		change(run)
	}
	c.mu.Unlock()
	if current {
		c.env.Changed()
	}
}

// restart kills run and starts a new one after the kubelet's back-off: at once for the first
// restart, then 10 s doubling up to 5 min, waiting as CrashLoopBackOff meanwhile.
func (c *container) restart(run *containerRun, message string) {
	c.mu.Lock()
	current := c.run == run
	c.mu.Unlock()
	if !current {
		return
	}
	c.env.Event(corev1.EventTypeNormal, "Killing", "Container %s failed its probe, will be restarted: %s", c.spec.Name, message)
	c.kill("Error", message)
	delay := restartBackoff(c.restartCount())
	if delay > 0 {
		c.mu.Lock()
		c.waiting = &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off " + delay.String() + " restarting failed container " + c.spec.Name}
		c.mu.Unlock()
	}
	c.env.Changed()
	if delay > 0 {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-c.quit:
			return
		}
	}
	c.start()
	c.env.Event(corev1.EventTypeNormal, "Started", "Started container %s", c.spec.Name)
	c.env.Changed()
}

func (c *container) restartCount() int32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.restarts
}

// restartBackoff is the wait before restart number n (1-based).
func restartBackoff(n int32) time.Duration {
	if n <= 1 {
		return 0
	}
	d := 10 * time.Second
	for i := int32(2); i < n && d < 5*time.Minute; i++ {
		d *= 2
	}
	return min(d, 5*time.Minute)
}
