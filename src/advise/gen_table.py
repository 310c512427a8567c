"""Writes table.csv: the DR planning guide's calculate_recovery_objectives, verbatim in its
arithmetic, over a grid that crosses every branch's boundary. The Rust advisor must agree on
every row (src/advise/tests.rs)."""
import itertools


def calculate(hourly_revenue, transaction_volume, regulatory, impact, cost):
    revenue_factor = min(hourly_revenue / 10000, 1.0)
    impact_factor = {'low': 1.0, 'medium': 0.5, 'high': 0.25, 'critical': 0.1}[impact]
    reg_factor = {'none': 1.0, 'moderate': 0.5, 'strict': 0.1}[regulatory]
    rto = 24.0 * impact_factor * reg_factor * (1 - revenue_factor)
    rto = max(rto, 0.25)
    if cost > 100000 or transaction_volume > 10000:
        rpo = min(rto / 2, 1.0)
    elif cost > 10000 or transaction_volume > 1000:
        rpo = min(rto, 4.0)
    else:
        rpo = min(rto * 2, 24.0)
    if rto <= 0.25 and rpo <= 0.25:
        strategy = 'hot_standby_sync_replication'
    elif rto <= 1.0 and rpo <= 1.0:
        strategy = 'hot_standby_async_replication'
    elif rto <= 4.0:
        strategy = 'warm_standby'
    else:
        strategy = 'cold_standby'
    if rto <= 0.25:
        tier = 'very_high'
    elif rto <= 1.0:
        tier = 'high'
    elif rto <= 4.0:
        tier = 'medium'
    else:
        tier = 'low'
    return round(rpo, 2), round(rto, 2), strategy, tier


revenues = [0, 100, 5000, 9583.33, 9999, 10000]
volumes = [0, 1000, 1001, 10000, 10001]
costs = [0, 10000, 10000.01, 100000, 100001]
with open('table.csv', 'w') as f:
    f.write('hourly_revenue,transactions_per_hour,regulatory,customer_impact,data_recreation_cost,'
            'rpo_hours,rto_hours,strategy,cost\n')
    for rev, vol, reg, imp, cost in itertools.product(
            revenues, volumes, ['none', 'moderate', 'strict'],
            ['low', 'medium', 'high', 'critical'], costs):
        rpo, rto, s, t = calculate(rev, vol, reg, imp, cost)
        f.write(f'{rev},{vol},{reg},{imp},{cost},{rpo!r},{rto!r},{s},{t}\n')
