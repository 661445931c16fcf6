DROP TABLE usage_member_monthly;
