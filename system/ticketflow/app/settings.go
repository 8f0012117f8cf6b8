package app

import (
	"errors"
	"fmt"
	"time"

	"github.com/ticketflow-lab/tflab/system/messaging"
	"github.com/ticketflow-lab/tflab/system/runtime"
	"github.com/ticketflow-lab/tflab/system/service"
	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
)

// Setting keys Ticketflow's runtime reads from service.Config.Settings
// besides the shared runtime's (runtime.SettingHeartbeat, ...; cmd passes
// them with --set key=value). Services read their own keys with
// Runtime.Setting and Runtime.Duration.
const (
	SettingRetryDelay      = "retry-delay"      // delay of the retry queue (default 1s)
	SettingMaxAttempts     = "max-attempts"     // handlings before dead-lettering (default 5)
	SettingHandlerTimeout  = "handler-timeout"  // bound of one handling (default 30s)
	SettingMetricsInterval = "metrics-interval" // MetricTick period (default 5s; 0 turns ticks off)
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

// settings are Ticketflow's parsed settings (the shared runtime parses its
// own).
type settings struct {
	retryDelay, handlerTimeout, metricsInterval time.Duration
	maxAttempts                                 int
	directPublish                               string
	variant                                     contracts.Variant
}

func parseSettings(cfg service.Config) (settings, error) {
	s := settings{metricsInterval: 5 * time.Second}
	errs := []error{
		runtime.Duration(cfg.Settings, SettingRetryDelay, &s.retryDelay),
		runtime.Duration(cfg.Settings, SettingHandlerTimeout, &s.handlerTimeout),
		runtime.Duration(cfg.Settings, SettingMetricsInterval, &s.metricsInterval),
		runtime.Int(cfg.Settings, SettingMaxAttempts, &s.maxAttempts, 1),
	}
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
	errs = append(errs, runtime.Int(cfg.Settings, SettingSLAPartitions, &s.variant.SLAPartitions, 1))
	s.variant.NoSingleActiveConsumer = !onOff(SettingSingleActiveConsumer, true)
	s.variant.ListenToYourself = onOff(SettingListenToYourself, false)
	s.variant.Faults = onOff(SettingPublishFault, false)
	if err := s.variant.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("settings: %w", err))
	}
	return s, errors.Join(errs...)
}

// protections reads cfg.Unprotect: the messaging protections, and whether
// the service-level "idempotency" protection stays on.
func protections(cfg service.Config) (messaging.Protections, bool, error) {
	ours, rest := messaging.SplitProtections(cfg.Unprotect)
	prot, err := messaging.ParseProtections(ours)
	if err != nil {
		return prot, false, err
	}
	idempotency := true
	for _, p := range rest {
		if p != ProtIdempotency {
			return prot, false, fmt.Errorf("unknown protection %q", p)
		}
		idempotency = false
	}
	return prot, idempotency, nil
}

// CheckSettings reports what New would refuse in cfg's settings and
// protections, without opening anything.
func CheckSettings(cfg service.Config) error {
	_, rerr := runtime.ParseSettings(cfg)
	_, err := parseSettings(cfg)
	_, _, perr := protections(cfg)
	return errors.Join(rerr, err, perr)
}
