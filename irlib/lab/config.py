"""Configuration the lab writes: Prometheus scrape jobs and alert rules, and the lab's incident parameters.

Time is compressed: scrapes and rule evaluation every 2 s, rates over 1 minute, alerts after 15-30 s, suspects
looked for in the 2 minutes before the onset.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

APP, NAMESPACE = "orders", "lab"
DSN_ENV = "IRLIB_LAB_ORDERS_DSN"
RATE = "1m"
SEL = f'namespace="{NAMESPACE}",pod=~"{APP}-.*"'


def alert_rules() -> dict[str, Any]:
    """The service's alerting rules (a Prometheus rule file as a mapping)."""
    errors = (f'sum(rate(http_requests_total{{{SEL},code=~"5.."}}[{RATE}])) / '
              f'sum(rate(http_requests_total{{{SEL}}}[{RATE}]))')
    p99 = (f'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket'
           f'{{{SEL},handler!="/healthz"}}[{RATE}])))')
    labels = {"service": APP, "namespace": NAMESPACE, "severity": "page"}
    return {"groups": [{"name": "orders", "interval": "2s", "rules": [
        {"alert": "OrdersHighErrorRate", "expr": f"({errors}) > 0.05", "for": "15s", "labels": labels,
         "annotations": {"summary": "orders: more than 5% of requests fail with 5xx"}},
        {"alert": "OrdersHighLatency", "expr": f"({p99}) > 0.5", "for": "30s", "labels": labels,
         "annotations": {"summary": "orders: p99 latency above 500 ms"}},
        {"alert": "OrdersContainerOOMKilled", "for": "0s", "labels": labels,
         "expr": (f'increase(kube_pod_container_status_restarts_total{{{SEL}}}[{RATE}]) > 0 and on (pod, container) '
                  f'kube_pod_container_status_last_terminated_reason{{{SEL},reason="OOMKilled"}} == 1'),
         "annotations": {"summary": "orders: a container was OOMKilled and restarted"}},
        {"alert": "OrdersDatabaseDown", "expr": 'pg_up{job="postgres-exporter"} == 0', "for": "10s",
         "labels": {**labels, "component": "database"},
         "annotations": {"summary": "orders database is not answering"}},
    ]}]}


def scrape_configs(targets_file: Path, kubelet: str, node: str, pg: str) -> list[dict[str, Any]]:
    """Scrape jobs: the pods' proxies and apps (file discovery, rewritten on rollouts) and the exporters."""
    return [
        {"job_name": "orders", "metrics_path": "/stats/prometheus",
         "file_sd_configs": [{"files": [str(targets_file.with_name("proxy-targets.json"))], "refresh_interval": "2s"}]},
        {"job_name": "orders-app",
         "file_sd_configs": [{"files": [str(targets_file)], "refresh_interval": "2s"}]},
        {"job_name": "kubelet", "honor_labels": True, "static_configs": [{"targets": [kubelet]}]},
        {"job_name": "node", "static_configs": [{"targets": [node]}]},
        {"job_name": "postgres-exporter", "static_configs": [{"targets": [pg]}]},
    ]


def lab_params(prometheus_url: str, kubeconfig: Path, git_repo: Path) -> dict[str, Any]:
    """The lab's incident parameters (the webhook's template; also usable by hand with ``irlib run``)."""
    sel = f'namespace="{NAMESPACE}",pod=~"{APP}-.*"'
    total = f"sum(rate(http_requests_total{{{sel}}}[{RATE}]))"
    queries = {
        "request_rate": total,
        # "or vector(0)": no 5xx at all is a ratio of 0, not a missing series (the baseline must have points)
        "error_ratio": f'(sum(rate(http_requests_total{{{sel},code=~"5.."}}[{RATE}])) or vector(0)) / {total}',
        **{f"latency_p{q}": (f"histogram_quantile({q / 100}, sum by (le) (rate("
                             f"http_request_duration_seconds_bucket{{{sel}}}[{RATE}])))") for q in (50, 95, 99)},
    }
    return {
        "incident": {"id": "lab-by-hand", "title": "orders lab (by hand)", "declared_at": "now"},
        "window": {"start": "now-15m", "end": "now"},
        "service": {"name": APP, "namespace": NAMESPACE, "deployments": [APP], "containers": [APP],
                    "dependencies": ["postgres"], "users_total": 1000},
        "sources": {
            "prometheus": {"url": prometheus_url, "step": "5s", "timeout_s": 10, "queries": queries},
            "kubernetes": {"kubeconfig": str(kubeconfig), "timeout_s": 10},
            "databases": [{"name": APP, "dsn_env": DSN_ENV, "statement_timeout_s": 5, "lock_timeout_s": 2}],
            "git": {"repo": str(git_repo)},
        },
        "thresholds": {"lookback_min": 2, "latency_p99_s": 0.5},
        "limits": {"notebook_timeout_s": 240},
    }


SCHEMA_SQL = """
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
CREATE TABLE products (id integer PRIMARY KEY, name text NOT NULL, price_cents integer NOT NULL);
INSERT INTO products SELECT i, 'product ' || i, 100 + i * 7 FROM generate_series(1, 50) AS i;
CREATE TABLE orders (id bigserial PRIMARY KEY, product_id integer NOT NULL REFERENCES products(id),
                     quantity integer NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
INSERT INTO orders (product_id, quantity) SELECT 1 + i % 50, 1 + i % 3 FROM generate_series(1, 200) AS i;
CREATE TABLE audit_events (id bigserial PRIMARY KEY, note text NOT NULL, at timestamptz NOT NULL DEFAULT now());
INSERT INTO audit_events (note) SELECT 'order event ' || i FROM generate_series(1, 20000) AS i;
"""
