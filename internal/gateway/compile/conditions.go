package compile

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// condition builds one status condition for an object of the given generation.
func condition(t, reason string, ok bool, gen int64, now metav1.Time, msg string) metav1.Condition {
	s := metav1.ConditionFalse
	if ok {
		s = metav1.ConditionTrue
	}
	return metav1.Condition{
		Type: t, Status: s, Reason: reason, Message: msg,
		ObservedGeneration: gen, LastTransitionTime: now,
	}
}
