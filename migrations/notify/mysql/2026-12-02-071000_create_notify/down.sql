DROP TABLE notification_devices;
DROP TABLE notification_preferences;
DROP TABLE notifications;
