"""The incident lab: a small real service, its supervisor (a lab "kubelet"), real Prometheus, PostgreSQL,
Alertmanager and exporters on loopback, and five failure scenarios with ground truth.  See docs/lab.md."""
