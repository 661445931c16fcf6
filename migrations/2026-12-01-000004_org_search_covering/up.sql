-- A search for a common word ("robotics": a tenth of all organizations) sorted by any column
-- walks that column's index in order, tests the search text kept in the index, and stops at a
-- page's worth of matches: no visit to the table, no sort of every match. A rare word still
-- goes through the trigram index; the planner picks by the word's frequency.
CREATE INDEX organizations_id_search ON organizations (id) INCLUDE (search_text);
DROP INDEX organizations_name_id;
CREATE INDEX organizations_name_id ON organizations (name_key, id) INCLUDE (search_text);
DROP INDEX organizations_member_count_id;
CREATE INDEX organizations_member_count_id ON organizations (member_count, id) INCLUDE (search_text);
DROP INDEX organizations_contact_id;
CREATE INDEX organizations_contact_id ON organizations (contact_key, id) INCLUDE (search_text);
DROP INDEX organizations_phone_id;
CREATE INDEX organizations_phone_id ON organizations (phone, id) INCLUDE (search_text);
DROP INDEX organizations_email_id;
CREATE INDEX organizations_email_id ON organizations (email, id) INCLUDE (search_text);
DROP INDEX organizations_domain_id;
CREATE INDEX organizations_domain_id ON organizations (domain, id) INCLUDE (search_text);
DROP INDEX organizations_inference_purchased_id;
CREATE INDEX organizations_inference_purchased_id ON organizations (inference_purchased, id) INCLUDE (search_text);
DROP INDEX organizations_inference_assigned_id;
CREATE INDEX organizations_inference_assigned_id ON organizations (inference_assigned, id) INCLUDE (search_text);
DROP INDEX organizations_embedding_purchased_id;
CREATE INDEX organizations_embedding_purchased_id ON organizations (embedding_purchased, id) INCLUDE (search_text);
DROP INDEX organizations_embedding_assigned_id;
CREATE INDEX organizations_embedding_assigned_id ON organizations (embedding_assigned, id) INCLUDE (search_text);
