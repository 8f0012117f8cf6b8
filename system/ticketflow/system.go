package ticketflow

import (
	"github.com/ticketflow-lab/tflab/scenarios/spec"
	"github.com/ticketflow-lab/tflab/scenarios/sut"
	"github.com/ticketflow-lab/tflab/system/service"
	"github.com/ticketflow-lab/tflab/system/ticketflow/anomaly"
	"github.com/ticketflow-lab/tflab/system/ticketflow/communication"
	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
	"github.com/ticketflow-lab/tflab/system/ticketflow/course"
	"github.com/ticketflow-lab/tflab/system/ticketflow/inquiries"
	tflab "github.com/ticketflow-lab/tflab/system/ticketflow/lab"
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/invariants"
	"github.com/ticketflow-lab/tflab/system/ticketflow/lab/workload"
	"github.com/ticketflow-lab/tflab/system/ticketflow/metrics/metricsvc"
	"github.com/ticketflow-lab/tflab/system/ticketflow/sla"
	"github.com/ticketflow-lab/tflab/system/ticketflow/tickets"
	"github.com/ticketflow-lab/tflab/system/ticketflow/translations"
)

// Name is the system's name in scenario files and on the command line.
const Name = "ticketflow"

// System returns Ticketflow as a plug-in of the lab. Services start in
// this order, so each one's consumers are up before the next one publishes
// to them.
func System() sut.System {
	var queues []string
	for _, q := range contracts.Ticketflow().Queues {
		queues = append(queues, q.Name)
	}
	s := sut.System{
		Name: Name,
		Services: []sut.Service{
			{Name: contracts.Translations.Name, Port: contracts.Translations.HTTPPort, Main: translations.Main},
			{Name: contracts.Tickets.Name, Port: contracts.Tickets.HTTPPort, Main: tickets.Main},
			{Name: contracts.Inquiries.Name, Port: contracts.Inquiries.HTTPPort, Main: inquiries.Main},
			{Name: contracts.Communication.Name, Port: contracts.Communication.HTTPPort, Main: communication.Main},
			{Name: contracts.SLA.Name, Port: contracts.SLA.HTTPPort, Main: sla.Main},
			{Name: contracts.Metrics.Name, Port: contracts.Metrics.HTTPPort, Main: metricsvc.Main},
		},
		Variants:         course.Variants(),
		Queues:           queues,
		Snapshot:         tflab.Snapshot,
		Counts:           tflab.Counts,
		Workload:         tflab.Workload,
		Probe:            tflab.Probe,
		InspectionQueues: contracts.InspectionQueues,
	}
	s.Vocabulary = vocabulary()
	return s
}

// vocabulary is what Ticketflow's scenario files may name: the services
// (in spec §2 order), the messaging protections, the business message types (plus the name
// Communication gives every alert) and the nine in-app anomalies, which
// the services with the anomaly API take.
func vocabulary() spec.Vocabulary {
	v := spec.Vocabulary{
		System:        Name,
		Invariants:    invariants.All,
		Workload:      workload.Type(),
		Protections:   service.Protections,
		InAppServices: []string{contracts.Inquiries.Name, contracts.Tickets.Name, contracts.SLA.Name, contracts.Communication.Name},
	}
	for _, svc := range contracts.Services() {
		v.Services = append(v.Services, svc.Name)
	}
	for _, t := range contracts.MessageTypes() {
		if t != contracts.TypeMetricTick && t != contracts.TypeAnomalyEventWrapper {
			v.MessageTypes = append(v.MessageTypes, t)
		}
	}
	v.MessageTypes = append(v.MessageTypes, contracts.TypeProducerAgnosticAlert)
	for _, t := range anomaly.Types() {
		v.InAppFaults = append(v.InAppFaults, spec.InAppFault{Name: string(t), Delay: t.IsDelay(), Consumer: t.IsConsumer()})
	}
	return v
}
