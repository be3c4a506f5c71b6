-- Whether a support request was filed by someone signed in (the address is
-- theirs) or signed out (the address was typed, and proves nothing): the
-- console marks the second kind. Requests from before were not told apart;
-- those with a matching person count as signed in, as most were.
ALTER TABLE support_request ADD COLUMN signed_in BIGINT NOT NULL DEFAULT 1;
