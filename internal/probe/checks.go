package probe

// A report's checks come in a fixed order: reachability first, then the
// identity check (when the server was reached), then one check per
// expectation. These accessors name them, so that no caller counts.

// Reach returns the reachability check, nil if the probe made none.
func (r *Report) Reach() *Check {
	if len(r.Checks) == 0 {
		return nil
	}
	return &r.Checks[0]
}

// Identity returns the identity check, nil if the probe got no further
// than reachability.
func (r *Report) Identity() *Check {
	if len(r.Checks) < 2 {
		return nil
	}
	return &r.Checks[1]
}

// Expectations returns the checks of the expectations, in order.
func (r *Report) Expectations() []Check {
	return r.Checks[min(2, len(r.Checks)):]
}
