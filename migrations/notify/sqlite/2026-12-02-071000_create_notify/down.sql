DROP TABLE notify_outbox;
DROP TABLE notification_devices;
DROP TABLE notification_preferences;
DROP TABLE notifications;
