DROP TABLE usage_member_daily;
DROP TABLE usage_org_daily;
DROP TABLE usage_alerts_sent;
ALTER TABLE organizations DROP COLUMN alert_thresholds;
