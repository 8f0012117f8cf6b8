package app

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/ticketflow-lab/tflab/system/messaging"
	"github.com/ticketflow-lab/tflab/system/service"
	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
)

// Setting keys the runtime reads from service.Config.Settings (cmd passes
// them with --set key=value). Services read their own keys with
// Runtime.Setting and Runtime.Duration.
const (
	SettingHeartbeat       = "heartbeat"        // AMQP heartbeat, e.g. 2s (messaging default 10s)
	SettingConfirmTimeout  = "confirm-timeout"  // publisher confirm timeout, e.g. 1s (default 5s)
	SettingRetryDelay      = "retry-delay"      // delay of the retry queue (default 1s)
	SettingMaxAttempts     = "max-attempts"     // handlings before dead-lettering (default 5)
	SettingHandlerTimeout  = "handler-timeout"  // bound of one handling (default 30s)
	SettingOutboxPoll      = "outbox-poll"      // outbox relay poll interval (default 1s)
	SettingMetricsInterval = "metrics-interval" // MetricTick period (default 5s; 0 turns ticks off)
	SettingOTLPEndpoint    = "otlp-endpoint"    // OTLP/HTTP collector, e.g. http://127.0.0.1:4318
	SettingShutdownTimeout = "shutdown-timeout" // bound of the HTTP drain and the span flush (default 5s)
	SettingClockOffset     = "clock-offset"     // initial clock skew, e.g. -3s (changeable via POST /lab/clock)
	// SettingDirectPublish says when a publish leaves with the outbox off:
	// "in-tx" (default, as the original: inside the transaction, so a
	// rollback leaves a ghost event) or "after-commit" (never a ghost, lost
	// on a failure after the commit); see messaging.Config.DirectPublish.
	SettingDirectPublish = "direct-publish"

	// Lesson variants (contracts.Variant; every service of a lab must get
	// the same values, as a profile's toggles give them):
	SettingTranslationV1        = "translation-v1"             // "on": Inquiries also sends RequestTranslationV1 to its unconsumed queue
	SettingSLAQueues            = "sla-queues"                 // changes (default), topic-per-type or partitioned
	SettingSLAPartitions        = "sla-partitions"             // N of the partitioned layout (default 3)
	SettingSingleActiveConsumer = "sla-single-active-consumer" // "on" (default) or "off"
	SettingListenToYourself     = "listen-to-yourself"         // "on": Tickets consumes its own TicketCreated
	// SettingPublishFault "on": a dead-lettered message also goes out as
	// Fault.<T> to the faults exchange (the original's PublishFaultOnFailure).
	SettingPublishFault = "publish-fault-on-failure"
)

// ProtIdempotency is the service-level protection (idempotent side effects,
// e.g. Communication's unique idempotency key) that the messaging layer does
// not know: it is in service.Protections and passes through SplitProtections.
const ProtIdempotency = "idempotency"

// settings are the runtime's parsed settings.
type settings struct {
	heartbeat, confirmTimeout, retryDelay, handlerTimeout, outboxPoll time.Duration
	metricsInterval, shutdownTimeout, clockOffset                     time.Duration
	maxAttempts                                                       int
	otlp, directPublish                                               string
	variant                                                           contracts.Variant
}

func parseSettings(cfg service.Config) (settings, error) {
	s := settings{metricsInterval: 5 * time.Second, shutdownTimeout: 5 * time.Second}
	var errs []error
	dur := func(key string, into *time.Duration) {
		if err := parseDuration(cfg.Settings, key, into); err != nil {
			errs = append(errs, err)
		}
	}
	dur(SettingHeartbeat, &s.heartbeat)
	dur(SettingConfirmTimeout, &s.confirmTimeout)
	dur(SettingRetryDelay, &s.retryDelay)
	dur(SettingHandlerTimeout, &s.handlerTimeout)
	dur(SettingOutboxPoll, &s.outboxPoll)
	dur(SettingMetricsInterval, &s.metricsInterval)
	dur(SettingShutdownTimeout, &s.shutdownTimeout)
	if v := cfg.Settings[SettingClockOffset]; v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("setting %s=%q: want a duration such as -3s", SettingClockOffset, v))
		}
		s.clockOffset = d
	}
	if v, ok := cfg.Settings[SettingMaxAttempts]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			errs = append(errs, fmt.Errorf("setting %s=%q: want a whole number >= 1", SettingMaxAttempts, v))
		}
		s.maxAttempts = n
	}
	s.otlp = cfg.Settings[SettingOTLPEndpoint]
	switch v := cfg.Settings[SettingDirectPublish]; v {
	case "", messaging.DirectInTx, messaging.DirectAfterCommit:
		s.directPublish = v
	default:
		errs = append(errs, fmt.Errorf("setting %s=%q: want %s or %s", SettingDirectPublish, v, messaging.DirectInTx, messaging.DirectAfterCommit))
	}
	onOff := func(key string, def bool) bool {
		switch v := cfg.Settings[key]; v {
		case "":
			return def
		case "on", "true":
			return true
		case "off", "false":
			return false
		default:
			errs = append(errs, fmt.Errorf("setting %s=%q: want on or off", key, v))
			return def
		}
	}
	s.variant.TranslationV1 = onOff(SettingTranslationV1, false)
	s.variant.SLAQueues = cfg.Settings[SettingSLAQueues]
	if v, ok := cfg.Settings[SettingSLAPartitions]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			errs = append(errs, fmt.Errorf("setting %s=%q: want a whole number >= 1", SettingSLAPartitions, v))
		}
		s.variant.SLAPartitions = n
	}
	s.variant.NoSingleActiveConsumer = !onOff(SettingSingleActiveConsumer, true)
	s.variant.ListenToYourself = onOff(SettingListenToYourself, false)
	s.variant.Faults = onOff(SettingPublishFault, false)
	if err := s.variant.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("settings: %w", err))
	}
	return s, errors.Join(errs...)
}

// parseDuration sets *into from settings[key] when present; a negative or
// malformed value is an error naming the key.
func parseDuration(m map[string]string, key string, into *time.Duration) error {
	v, ok := m[key]
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

// messagingConfig builds the bus config of one service instance.
func messagingConfig(cfg service.Config, s settings, topo messaging.Topology) (messaging.Config, bool, error) {
	ours, rest := messaging.SplitProtections(cfg.Unprotect)
	prot, err := messaging.ParseProtections(ours)
	if err != nil {
		return messaging.Config{}, false, err
	}
	idempotency := true
	for _, p := range rest {
		if p != ProtIdempotency {
			return messaging.Config{}, false, fmt.Errorf("unknown protection %q", p)
		}
		idempotency = false
	}
	mc := messaging.Config{
		Service:        cfg.Name,
		Instance:       cfg.ID(),
		URL:            cfg.AMQPURL,
		Fallbacks:      cfg.AMQPFallbacks,
		QueueType:      cfg.QueueType,
		Topology:       topo,
		Protections:    prot,
		Heartbeat:      s.heartbeat,
		HandlerTimeout: s.handlerTimeout,
		DirectPublish:  s.directPublish,
	}
	mc.Publisher.ConfirmTimeout = s.confirmTimeout
	mc.Retry.Delay = s.retryDelay
	mc.Retry.MaxAttempts = s.maxAttempts
	mc.Outbox.PollInterval = s.outboxPoll
	return mc, idempotency, nil
}

// CheckSettings reports what New would refuse in cfg's settings and
// protections, without opening anything.
func CheckSettings(cfg service.Config) error {
	s, err := parseSettings(cfg)
	if err != nil {
		return err
	}
	_, _, err = messagingConfig(cfg, s, messaging.Topology{})
	return err
}
