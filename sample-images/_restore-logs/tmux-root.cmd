criu restore -d -D tmux -v4 -o restore.log
