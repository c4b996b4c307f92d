-- Postel store schema: migration from version 2 to version 3. The header
-- fields SEARCH and SORT read (From, To, Cc, Bcc, Subject, Date; mime.h
-- mime_search_fields) as a small header block per message file, so a
-- search over a mailbox reads rows instead of opening every file. NULL:
-- not computed (messages stored before); readers then use the file.
ALTER TABLE blob_meta ADD COLUMN fields BLOB;
