package failover

// SetBeforePause sets a hook that runs after the checks, just before the pause.
func SetBeforePause(o *Options, f func()) { o.beforePause = f }
