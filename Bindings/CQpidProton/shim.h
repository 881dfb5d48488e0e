// The qpid-proton C API the AMQP binding uses: the proactor (one thread drives it), the
// engine objects (connection, session, link, delivery), messages and the AMQP codec.
#ifndef CE_QPID_PROTON_SHIM_H
#define CE_QPID_PROTON_SHIM_H

#include <proton/codec.h>
#include <proton/condition.h>
#include <proton/connection.h>
#include <proton/delivery.h>
#include <proton/disposition.h>
#include <proton/error.h>
#include <proton/event.h>
#include <proton/link.h>
#include <proton/listener.h>
#include <proton/message.h>
#include <proton/netaddr.h>
#include <proton/proactor.h>
#include <proton/sasl.h>
#include <proton/session.h>
#include <proton/ssl.h>
#include <proton/terminus.h>
#include <proton/transport.h>
#include <proton/types.h>
#include <proton/version.h>

#endif
