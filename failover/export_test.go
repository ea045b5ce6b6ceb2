package failover

// SetBeforePause sets a hook that runs after the checks, just before the pause.
func SetBeforePause(o *Options, f func()) { o.beforePause = f }

// SetAfterPause sets a hook that runs once every driver is paused.
func SetAfterPause(o *Options, f func()) { o.afterPause = f }
