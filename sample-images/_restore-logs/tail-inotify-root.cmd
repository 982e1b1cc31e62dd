criu restore -d -D tail-inotify -v4 -o restore.log
