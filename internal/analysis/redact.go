package analysis

import (
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/aviary-dev/aviary/internal/analysis/provider"
)

// redacted stands in for a secret value.
const redacted = "***"

// redactor hides the values of a run's Secret arguments in what the controller writes about
// the run (status messages, Events, logs, returned errors): a provider error quoting the URL
// or a condition it was given must not show a token to everyone who may read AnalysisRuns.
// The zero value hides nothing until values are added.
type redactor struct {
	// forms are the secret values as they may appear in a message, longest first so that a
	// longer form is replaced whole before a shorter one could cut into it.
	forms []string
}

// add remembers a secret value in every form a message may show it in: as is, escaped for a
// URL's query or path, and quoted as %q and JSON write it.
func (r *redactor) add(value string) {
	for _, f := range []string{value, url.QueryEscape(value), url.PathEscape(value), quotedBody(value), jsonEscape(value)} {
		if f != "" && !slices.Contains(r.forms, f) {
			r.forms = append(r.forms, f)
		}
	}
	slices.SortFunc(r.forms, func(a, b string) int { return len(b) - len(a) })
}

// quotedBody is value as strconv.Quote writes it, without the surrounding quotes.
func quotedBody(value string) string {
	q := strconv.Quote(value)
	return q[1 : len(q)-1]
}

// String is s with every secret value replaced by "***".
func (r *redactor) String(s string) string {
	for _, f := range r.forms {
		s = strings.ReplaceAll(s, f, redacted)
	}
	return s
}

// Error is err with its text redacted; nil stays nil.
func (r *redactor) Error(err error) error {
	if err == nil {
		return nil
	}
	return errors.New(r.String(err.Error()))
}

// Observation redacts what a provider reported about a measurement, except its value: that is
// the endpoint's answer, which the metric exists to show.
func (r *redactor) Observation(obs provider.Observation) provider.Observation {
	obs.Message = r.String(obs.Message)
	obs.Err = r.Error(obs.Err)
	if obs.Metadata != nil {
		md := make(map[string]string, len(obs.Metadata))
		for k, v := range obs.Metadata {
			md[k] = r.String(v)
		}
		obs.Metadata = md
	}
	return obs
}
