"""Alert messages and digests: bilingual, with actual vs target, comparator, gap, month, place, bureau, where."""

from __future__ import annotations

from datetime import date

from hzwh.alerts import digest
from hzwh.alerts.digest import Item
from hzwh.alerts.messages import attainment_alert, fallback_note, late_feed_alert

TARGET = {
    "target_id": "health_nip_vaccination_rate", "unit": "ratio", "target_value": 0.9, "comparator": ">=",
    "metric_zh": "国家免疫规划疫苗接种率", "metric_en": "NIP vaccination rate",
    "responsible_bureau": "health", "responsible_bureau_zh": "市卫生局",
    "responsible_bureau_en": "Municipal Health Bureau",
}
NAMES = {"330102": ("上城区", "Shangcheng")}


def _breach(kind: str = "breach", actual: float = 0.85, vaccine: str = "MCV"):
    row = {"geo_code": "330102", "month": date(2012, 3, 1), "vaccine": vaccine, "actual_value": actual}
    return attainment_alert(kind, row, TARGET, NAMES)


def test_a_breach_message_says_everything_in_both_languages():
    alert = _breach()
    assert alert.key == "breach|health_nip_vaccination_rate|330102|2012-03|MCV"
    zh, en = alert.message.split("\n")
    for text in ("【未达标】", "国家免疫规划疫苗接种率", "MCV", "上城区", "2012-03", "实际 85.00%", "目标 >= 90.00%",
                 "差距 -5.00 个百分点", "责任单位：市卫生局", "查看：marts.fct_target_attainment"):
        assert text in zh, text
    for text in ("[BREACH]", "NIP vaccination rate", "MCV vaccine", "Shangcheng (330102)", "2012-03",
                 "actual 85.00%", "target >= 90.00%", "gap -5.00 pp", "Responsible: Municipal Health Bureau",
                 "See: marts.fct_target_attainment where target_id = 'health_nip_vaccination_rate'"
                 " and geo_code = '330102' and month = '2012-03-01' and vaccine = 'MCV'"):
        assert text in en, text
    p = alert.payload
    assert (p["kind"], p["month"], p["actual_value"], p["target_value"], p["comparator"], p["vaccine"]) == (
        "breach", "2012-03", 0.85, 0.9, ">=", "MCV")
    assert p["responsible_bureau"] == "市卫生局" and p["message"] == alert.message


def test_a_resolved_notice_has_its_own_key():
    alert = _breach("resolved", 0.95)
    assert alert.key == "resolved|health_nip_vaccination_rate|330102|2012-03|MCV"
    assert "【已恢复达标】" in alert.message and "[RESOLVED]" in alert.message and "gap +5.00 pp" in alert.message


def test_a_late_feed_alert_is_keyed_by_feed_month_and_reminder():
    alert = late_feed_alert("social_security_enrollment", "2012-03", date(2012, 4, 10), date(2012, 4, 17), 2,
                            ("hrss", "市人力社保局", "Municipal HRSS"), "/data/landing")
    assert alert.key == "late_feed|social_security_enrollment|2012-03|2"
    assert alert.audience == "data_engineers" and alert.month == date(2012, 3, 1)
    assert alert.checked_on == date(2012, 4, 17) and alert.feed == "social_security_enrollment"
    for text in ("【数据逾期】", "市人力社保局", "2012-04-10", "逾期 7 天", "第 2 次提醒", "[LATE FEED]",
                 "7 days late, reminder 2", "/data/landing/social_security_enrollment/",
                 "ops.file_loads where feed = 'social_security_enrollment' and file_period = '2012-03'"):
        assert text in alert.message, text
    assert alert.payload["due_date"] == "2012-04-10" and alert.payload["kind"] == "late_feed"


def test_fallback_note_names_the_bureau_and_the_file():
    note = fallback_note("culture", "市文广新闻出版局", "Bureau of Culture", "config/alert_routing.yaml")
    assert "市文广新闻出版局（culture）" in note and "[ROUTING] Bureau of Culture (culture)" in note
    assert note.count("config/alert_routing.yaml") == 2


def _items(*alerts) -> list[Item]:
    return [Item(a.key, a.kind, a.payload) for a in alerts]


def test_a_digest_lists_every_alert_once_with_bilingual_counts():
    items = _items(_breach(vaccine="MCV"), _breach(vaccine="HepB"), _breach("resolved", 0.95, "BCG"))
    assert digest.counts(items) == ("2 条未达标，1 条已恢复达标", "2 breaches, 1 resolved notice")
    subject = digest.subject(items)
    assert subject.startswith("【杭州基本公共服务监测】市卫生局：2 条未达标") and "[Hangzhou plan monitor]" in subject
    assert "(2012-03)" in subject
    html = digest.email_html(items)
    assert html.count("<li") == 3 and html.count("【未达标】") == 2 and html.count("【已恢复达标】") == 1
    assert "&gt;= 90.00%" in html and "ops.alert_log" in html
    text = digest.slack_text(items)
    assert text.index("[BREACH]") < text.index("[RESOLVED]")  # breaches first
    assert text.startswith("杭州市基本公共服务均等化监测：2 条未达标")


def test_a_long_slack_digest_is_cut_with_a_pointer_to_the_log():
    items = _items(*[_breach(vaccine=f"V{n}") for n in range(500)])
    text = digest.slack_text(items)
    assert len(text) <= digest.SLACK_MAX_CHARS + 200
    assert "more: see ops.alert_log" in text


def test_webhook_body_is_an_object_for_one_alert_and_an_array_for_several():
    one = _items(_breach())
    assert digest.webhook_body(one) == one[0].payload
    two = _items(_breach(vaccine="MCV"), _breach(vaccine="HepB"))
    assert [a["vaccine"] for a in digest.webhook_body(two)] == ["MCV", "HepB"]
