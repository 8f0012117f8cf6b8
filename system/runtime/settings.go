package runtime

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/ticketflow-lab/tflab/system/service"
)

// Setting keys the runtime reads from service.Config.Settings (cmd passes
// them with --set key=value). A system's own keys are read by its wiring
// (Duration, PositiveDuration, Int).
const (
	SettingHeartbeat      = "heartbeat"       // AMQP heartbeat, e.g. 2s (messaging default 10s)
	SettingConfirmTimeout = "confirm-timeout" // publisher confirm timeout, e.g. 1s (default 5s)
	SettingOutboxPoll     = "outbox-poll"     // outbox relay poll interval (default 1s)
	SettingOTLPEndpoint   = "otlp-endpoint"   // OTLP/HTTP collector, e.g. http://127.0.0.1:4318
	// SettingShutdownTimeout bounds the HTTP drain and the span flush
	// (default 5s).
	SettingShutdownTimeout = "shutdown-timeout"
	// SettingClockOffset is the initial clock skew, e.g. -3s (POST
	// /lab/clock changes it).
	SettingClockOffset = "clock-offset"
)

// DefaultShutdownTimeout is the shutdown timeout without the setting.
const DefaultShutdownTimeout = 5 * time.Second

// Settings are the runtime's parsed settings.
type Settings struct {
	Heartbeat, ConfirmTimeout, OutboxPoll, ShutdownTimeout, ClockOffset time.Duration
	OTLPEndpoint                                                        string
}

// ParseSettings reads the runtime's settings from cfg; every malformed
// value is reported, naming its key.
func ParseSettings(cfg service.Config) (Settings, error) {
	s := Settings{ShutdownTimeout: DefaultShutdownTimeout, OTLPEndpoint: cfg.Settings[SettingOTLPEndpoint]}
	errs := []error{
		Duration(cfg.Settings, SettingHeartbeat, &s.Heartbeat),
		Duration(cfg.Settings, SettingConfirmTimeout, &s.ConfirmTimeout),
		Duration(cfg.Settings, SettingOutboxPoll, &s.OutboxPoll),
		Duration(cfg.Settings, SettingShutdownTimeout, &s.ShutdownTimeout),
	}
	if v := cfg.Settings[SettingClockOffset]; v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("setting %s=%q: want a duration such as -3s", SettingClockOffset, v))
		}
		s.ClockOffset = d
	}
	return s, errors.Join(errs...)
}

// Duration sets *into from settings[key] when present and not empty; a
// negative or malformed value is an error naming the key.
func Duration(settings map[string]string, key string, into *time.Duration) error {
	v, ok := settings[key]
	if !ok || v == "" {
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return fmt.Errorf("setting %s=%q: want a non-negative duration such as 2s or 500ms", key, v)
	}
	*into = d
	return nil
}

// PositiveDuration returns settings[key], or def when absent; zero, negative
// and malformed values are errors naming the key.
func PositiveDuration(settings map[string]string, key string, def time.Duration) (time.Duration, error) {
	d := def
	if err := Duration(settings, key, &d); err != nil {
		return 0, err
	}
	if d <= 0 {
		return 0, fmt.Errorf("setting %s: must be positive", key)
	}
	return d, nil
}

// Int sets *into from settings[key] when present; a value below lowest or
// not a whole number is an error naming the key.
func Int(settings map[string]string, key string, into *int, lowest int) error {
	v, ok := settings[key]
	if !ok {
		return nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lowest {
		return fmt.Errorf("setting %s=%q: want a whole number >= %d", key, v, lowest)
	}
	*into = n
	return nil
}
