package robustness

import "fmt"

// A Violation is one broken guarantee found in a history.
type Violation struct {
	// Guarantee names what was broken: "linearizability",
	// "serializable/monotonic", "watch/ordered", "lock/double-holder", ...
	Guarantee string
	// Detail says what differed, with the operations or events involved.
	Detail string
}

func (v Violation) String() string { return v.Guarantee + ": " + v.Detail }

func violation(guarantee, format string, args ...any) Violation {
	return Violation{Guarantee: guarantee, Detail: fmt.Sprintf(format, args...)}
}
