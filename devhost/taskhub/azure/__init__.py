"""The Azure Storage task hub: instances and history in tables, work in queues, large
payloads in a table of pieces; Azurite locally, a real storage account unchanged."""
