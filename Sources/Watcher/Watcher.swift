import CInotify
