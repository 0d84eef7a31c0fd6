"""The en / zh-CN message catalogue used by :mod:`us_equity_strategies.render`.

Keys are shared by every language; values are :meth:`str.format` templates whose fields the
render functions fill in. Keep both languages' key sets identical.
"""

_T: dict[str, dict[str, str]] = {
    "en": {
        "tqqq.entry": "🚀 ENTRY: {bench} above MA200, buy TQQQ {t} + {u_sym} {u}",
        "tqqq.entry.pullback": "🚀 PULLBACK ENTRY: {bench} below MA200 but rebounding above "
                               "MA20, buy TQQQ {t} + {u_sym} {u}",
        "tqqq.hold": "💎 HOLD: {bench} above MA200, keep TQQQ {t} + {u_sym} {u}",
        "tqqq.hold.pullback": "💎 HOLD (pullback rebound): {bench} below MA200 but above MA20, "
                              "keep TQQQ {t} + {u_sym} {u}",
        "tqqq.exit": "🛡️ EXIT: {bench} not above MA200, move to BOXX {b}",
        "tqqq.idle": "💤 IDLE: risk off, park in BOXX {b}",
        "tqqq.risk_on": "🚀 RISK-ON", "tqqq.pullback_risk_on": "🚀 PULLBACK RISK-ON",
        "tqqq.risk_off": "🛡️ RISK-OFF",
        "soxl.risk_on": "{trend} above {window}d gated entry, hold SOXL {soxl} + SOXX {soxx}",
        "soxl.defensive": "{trend} below gated entry, hold defensive SOXX {soxx}",
        "soxl.status.risk_on": "🚀 RISK-ON ({asset})",
        "soxl.status.defensive": "🛡️ DE-LEVER ({asset})",
        "global.emergency": "🚨 EMERGENCY: {n_bad} canaries bad, all to {safe}",
        "global.no_candidate": "⚠️ no ETF passes the momentum and SMA filters, all to {safe}",
        "global.daily_check": "daily check: canary OK, no rebalance today (next {next})",
        "global.quarterly": "quarterly(n={n})\n  Top: {top}",
        "global.no_data": "no data",
        "mega.waiting": "monthly snapshot cadence | waiting inside execution window",
        "mega.safe_haven_only": "no stock selected, all to {safe}",
        "fail_closed": "🛑 fail closed: no trades ({reason})",
        "unknown": "signal: {code}",
        "small_note": "small account warning: portfolio equity {equity} is below the recommended "
                      "{minimum}; {reason}",
        "reason.integer_shares_min_position_value_may_prevent_backtest_replication":
            "integer-share minimum position sizing may prevent backtest replication",
        "w.below_one_share": "{symbol}: target {target} buys no whole share at {price:,.2f}",
        "w.integer_share_tracking_gap": "whole shares miss the targets by {gap:.1%} (L1); the gap "
                                        "stays under 5% from equity {min_equity}",
        "w.unpriced_position": "{symbol}: no price known, whole-share sizing assumed the target "
                               "is met",
        "l.as_of": "as of", "l.snapshot": "snapshot", "l.signal": "signal", "l.status": "status",
        "l.regime": "regime", "l.flags": "risk flags", "l.targets": "targets", "l.total": "total",
        "l.hold": "no trades (hold current positions), reason", "l.small": "small account",
        "l.warnings": "warnings", "l.weight": "weight", "l.value": "value",
        "r.risk": "risk", "r.safe_haven": "safe haven", "r.income": "income",
    },
    "zh-CN": {
        "tqqq.entry": "🚀 入场：{bench} 站上 MA200，买入 TQQQ {t} + {u_sym} {u}",
        "tqqq.entry.pullback": "🚀 回调入场：{bench} 低于 MA200 但站上 MA20 并反弹，"
                               "买入 TQQQ {t} + {u_sym} {u}",
        "tqqq.hold": "💎 持有：{bench} 位于 MA200 之上，继续持有 TQQQ {t} + {u_sym} {u}",
        "tqqq.hold.pullback": "💎 持有（回调反弹）：{bench} 低于 MA200 但站上 MA20，"
                              "继续持有 TQQQ {t} + {u_sym} {u}",
        "tqqq.exit": "🛡️ 离场：{bench} 未站上 MA200，转入 BOXX {b}",
        "tqqq.idle": "💤 观望：风险关闭，资金停泊于 BOXX {b}",
        "tqqq.risk_on": "🚀 进攻", "tqqq.pullback_risk_on": "🚀 回调进攻",
        "tqqq.risk_off": "🛡️ 防守",
        "soxl.risk_on": "{trend} 站上 {window} 日门控入场线，持有 SOXL {soxl} + SOXX {soxx}",
        "soxl.defensive": "{trend} 跌破门控入场线，防守持有 SOXX {soxx}",
        "soxl.status.risk_on": "🚀 进攻 ({asset})",
        "soxl.status.defensive": "🛡️ 降杠杆 ({asset})",
        "global.emergency": "🚨 紧急避险：{n_bad} 个金丝雀资产转弱，全部转入 {safe}",
        "global.no_candidate": "⚠️ 没有 ETF 通过动量与均线筛选，全部转入 {safe}",
        "global.daily_check": "每日检查：金丝雀正常，今日不调仓（下次 {next}）",
        "global.quarterly": "季度调仓(n={n})\n  入选: {top}",
        "global.no_data": "无数据",
        "mega.waiting": "月度快照节奏 | 等待执行窗口",
        "mega.safe_haven_only": "没有入选股票，全部转入 {safe}",
        "fail_closed": "🛑 安全停止：本次不交易（{reason}）",
        "unknown": "信号: {code}",
        "small_note": "小账户提示：账户净值 {equity} 低于建议的 {minimum}；{reason}",
        "reason.integer_shares_min_position_value_may_prevent_backtest_replication":
            "整数股与最小持仓金额可能导致无法复现回测结果",
        "w.below_one_share": "{symbol}：目标 {target} 按价格 {price:,.2f} 买不到一整股",
        "w.integer_share_tracking_gap": "按整数股下单与目标偏差 {gap:.1%}（L1）；账户净值达到 "
                                        "{min_equity} 起偏差可保持在 5% 以内",
        "w.unpriced_position": "{symbol}：没有价格，整数股测算假设目标已达成",
        "l.as_of": "日期", "l.snapshot": "快照", "l.signal": "信号", "l.status": "状态",
        "l.regime": "市场状态", "l.flags": "风险标记", "l.targets": "目标持仓", "l.total": "合计",
        "l.hold": "不交易（保持现有持仓），原因", "l.small": "小账户",
        "l.warnings": "警告", "l.weight": "权重", "l.value": "金额",
        "r.risk": "风险", "r.safe_haven": "避险", "r.income": "收益",
    },
}
