package ticketsale

import (
	"github.com/ticketflow-lab/tflab/scenarios/spec"
	"github.com/ticketflow-lab/tflab/scenarios/sut"
	"github.com/ticketflow-lab/tflab/system/messaging"
	"github.com/ticketflow-lab/tflab/system/service"
	"github.com/ticketflow-lab/tflab/system/ticketsale/auth"
	"github.com/ticketflow-lab/tflab/system/ticketsale/common"
	"github.com/ticketflow-lab/tflab/system/ticketsale/expiration"
	"github.com/ticketflow-lab/tflab/system/ticketsale/gateway"
	"github.com/ticketflow-lab/tflab/system/ticketsale/lab"
	"github.com/ticketflow-lab/tflab/system/ticketsale/lab/invariants"
	"github.com/ticketflow-lab/tflab/system/ticketsale/orders"
	"github.com/ticketflow-lab/tflab/system/ticketsale/payments"
	"github.com/ticketflow-lab/tflab/system/ticketsale/tickets"
	"github.com/ticketflow-lab/tflab/system/ticketsale/tsapp"
)

// Name is the system's name (`tflab serve ticketsale/<service>`).
const Name = "ticketsale"

// Service is one service of the system.
type Service struct {
	// Name is the service name (common.Service*).
	Name string
	// Main is its entry point.
	Main service.Main
	// HTTPPort is the first instance's port under fixed ports.
	HTTPPort int
	// Messaging says whether it talks to the broker.
	Messaging bool
	// Listens and Publishes are its event subjects.
	Listens, Publishes []string
	// Needs are settings the lab must give it, with what they point at:
	// payments needs "gateway-url" → the gateway's base URL.
	Needs map[string]string
}

// Services lists the services in start order: the gateway and auth first
// (no broker), then every consumer before the services that publish to it.
var Services = []Service{
	{Name: common.ServiceGateway, Main: gateway.Main, HTTPPort: 3106},
	{Name: common.ServiceAuth, Main: auth.Main, HTTPPort: 3101},
	onBroker(common.ServiceExpiration, expiration.Main, 3104, nil),
	onBroker(common.ServicePayments, payments.Main, 3105, map[string]string{payments.SettingGatewayURL: common.ServiceGateway}),
	onBroker(common.ServiceTickets, tickets.Main, 3102, nil),
	onBroker(common.ServiceOrders, orders.Main, 3103, nil),
}

// onBroker is a service that talks to the broker, with its subjects from
// common.Listens and common.Publishes.
func onBroker(name string, main service.Main, port int, needs map[string]string) Service {
	return Service{Name: name, Main: main, HTTPPort: port, Messaging: true, Needs: needs,
		Listens: common.Listens[name], Publishes: common.Publishes[name]}
}

// Profiles of the system.
const (
	ProfileFixed  = service.DefaultProfile // every toggle fixed (the default)
	ProfileCourse = "course"               // every toggle as the course wrote it
)

// Toggle names of Variants: the C.3 toggles switched to the course's
// behaviour, in the lab's lowercase spelling.
const (
	ToggleNoVersionRule         = "no-version-rule"     // versionRule=off (naive last writer)
	ToggleCourseVersionRule     = "course-version-rule" // versionRule=strict (the course)
	ToggleNoCreateIdempotent    = "no-create-idempotent"
	ToggleNoCancelChecksOrderID = "no-cancel-checks-order-id"
	ToggleNoExpirationChecks    = "no-expiration-checks-status"
	ToggleNoPaymentGuards       = "no-payment-guards"
	ToggleNoDeleteGuards        = "no-delete-guards"
	ToggleNoReserveAtomic       = "no-reserve-atomic"
	ToggleNoOutbox              = "no-outbox"
	ToggleNoExpirationJobID     = "no-expiration-job-id"
	// ToggleShortWindows scales the course's time windows to a scenario
	// run; it switches no behaviour.
	ToggleShortWindows = "short-windows"
)

func faithful(g common.Toggle) map[string]string {
	return map[string]string{string(g): common.ValueFaithful}
}

// Variants are the system's toggles and profiles for the lab's profile
// mechanism (service.Variants): each toggle sets one C.3 toggle's setting.
func Variants() service.Variants {
	return service.Variants{
		Toggles: []service.Toggle{
			{Name: ToggleNoVersionRule, Settings: map[string]string{string(common.VersionRule): string(common.VersionOff)},
				Doc: "replicas apply ticket:updated and order:cancelled as they arrive: a late update overwrites a newer one (versionRule off)"},
			{Name: ToggleCourseVersionRule, Settings: map[string]string{string(common.VersionRule): string(common.VersionStrict)},
				Doc: "replicas apply only version N+1 and fail anything else, a duplicate of an applied update too: a poison message redelivered forever (versionRule strict, the course)"},
			{Name: ToggleNoCreateIdempotent, Settings: faithful(common.CreateIdempotent),
				Doc: "a duplicate ticket:created or order:created fails its insert and is redelivered forever"},
			{Name: ToggleNoCancelChecksOrderID, Settings: faithful(common.CancelChecksOrderID),
				Doc: "tickets clears a reservation on any order:cancelled, whichever order holds the ticket, and reserves for an order it saw cancelled"},
			{Name: ToggleNoExpirationChecks, Settings: faithful(common.ExpirationChecksStatus),
				Doc: "expiration:complete cancels an already cancelled order again and publishes order:cancelled again"},
			{Name: ToggleNoPaymentGuards, Settings: faithful(common.PaymentGuards),
				Doc: "payments checks only its replica's cancelled status, sends no idempotency key, never refunds; orders completes a cancelled order; complete is never propagated (L1, L2, L12)"},
			{Name: ToggleNoDeleteGuards, Settings: faithful(common.DeleteGuards),
				Doc: "DELETE /api/orders/:id cancels a complete order (L3)"},
			{Name: ToggleNoReserveAtomic, Settings: faithful(common.ReserveAtomic),
				Doc: "POST /api/orders checks the reservation, then inserts: two parallel orders can both win (L11)"},
			{Name: ToggleNoOutbox, Settings: faithful(common.Outbox),
				Doc: "events are published after the commit, fire and forget: a crash or outage loses them (L8, L9)"},
			{Name: ToggleNoExpirationJobID, Settings: faithful(common.ExpirationJobID),
				Doc: "expiration jobs get random ids: a duplicate order:created schedules a second expiration (L5)"},
			{Name: ToggleShortWindows, Settings: map[string]string{orders.SettingExpirationWindow: "10s", tsapp.SettingAckWait: "1s"},
				Doc: "orders expire 10 s after they are placed and ackWait is 1 s (the course's 60 s and 5 s scaled to a scenario run); behaviour unchanged"},
		},
		Profiles: []service.Profile{
			{Name: ProfileFixed, Doc: "every toggle fixed (the lab's default)"},
			{Name: ProfileCourse, Doc: "the course's code: every toggle faithful, version rule strict",
				Toggles: []string{ToggleCourseVersionRule, ToggleNoCreateIdempotent, ToggleNoCancelChecksOrderID, ToggleNoExpirationChecks,
					ToggleNoPaymentGuards, ToggleNoDeleteGuards, ToggleNoReserveAtomic, ToggleNoOutbox, ToggleNoExpirationJobID}},
		},
	}
}

// Note is what `tflab up` and status say about the system.
const Note = "ticketsale: the course's ticket shop; runs are judged by its invariants TS1–TS13 and the lab's generic ones"

// System returns ticketsale as a plug-in of the lab: Services in their
// start order with their fixed ports and Needs, Variants, the vocabulary
// scenario files may name, and its lab side (package lab): the crowd
// workload, the end-to-end probe, the snapshot and the counts.
func System() sut.System {
	s := sut.System{Name: Name, Note: Note, Variants: Variants(), Vocabulary: vocabulary(),
		Workload: lab.Workload, Probe: lab.Probe, Snapshot: lab.Snapshot, Counts: lab.Counts}
	for _, svc := range Services {
		s.Services = append(s.Services, sut.Service{Name: svc.Name, Port: svc.HTTPPort, Main: svc.Main, Needs: svc.Needs})
	}
	return s
}

// vocabulary is what ticketsale's scenario files may name: the services,
// the event subjects as message types, the protections a ticketsale
// service honours in --unprotect (tsapp.Protections and
// common.ParseToggles): confirms, retries and outbox, and its invariants
// TS1–TS13 (lab/invariants). It has no in-app fault points.
func vocabulary() spec.Vocabulary {
	v := spec.Vocabulary{
		System:       Name,
		Protections:  []string{messaging.ProtConfirms, messaging.ProtRetries, messaging.ProtOutbox},
		MessageTypes: append([]string(nil), common.Subjects...),
		Workload:     lab.WorkloadType(),
		Invariants:   invariants.Checks(),
	}
	for _, svc := range Services {
		v.Services = append(v.Services, svc.Name)
	}
	return v
}
